import io.shipgate.jenkins.Runner

// Ask a person for a sign-off with `input`, then record who decided with shipgateSignoff
// (help: shipgateApproval.txt). `input` names the person who answered through
// submitterParameter, so the ledger gets the real approver, never a typed-in name.
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateApproval', args,
                                 ['plan', 'environment', 'version', 'role', 'vars', 'submitter', 'message'])
    String environment = shipgate.required('environment')
    String version = shipgate.required('version')
    String role = shipgate.required('role')
    shipgate.required('plan')
    shipgate.check()
    Map question = [id: "signoff-${environment}-${role}", ok: 'Record decision',
                    message: shipgate.value('message') ?: "Sign off ${version} for ${environment} as ${role}?",
                    submitterParameter: 'SHIPGATE_APPROVER',
                    parameters: [choice(name: 'DECISION', choices: ['approve', 'reject'],
                                        description: "Your decision as ${role}"),
                                 text(name: 'COMMENT', defaultValue: '',
                                      description: 'Why (required to reject: say what to fix)')]]
    if (shipgate.value('submitter')) {
        question.submitter = shipgate.value('submitter')
    }
    Map answer = input(question)
    String approver = answer.SHIPGATE_APPROVER
    String decision = answer.DECISION
    String comment = (answer.COMMENT ?: '').trim()
    if (decision == 'reject' && !comment) {
        error("${approver} rejected ${version} for ${environment} as ${role} without a comment; " +
              'nothing was recorded: run the build again and say what to fix')
    }
    Map signoff = [:] + args + [by: approver, decision: decision, comment: comment,
                                name: shipgate.value('name') ?: "signoff-${environment}-${role}"]
    signoff.remove('submitter')
    signoff.remove('message')
    Map result = shipgateSignoff(signoff) + [approver: approver, decision: decision, comment: comment]
    if (decision == 'reject') {
        error("${role} ${approver} rejected ${version} for ${environment}: ${comment}")
    }
    return result
}
