import io.shipgate.jenkins.Runner

// Record a role's decision on a version for an environment: `shipgate signoff`
// (help: shipgateSignoff.txt). shipgateApproval asks a person with `input` first.
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateSignoff', args,
                                 ['plan', 'environment', 'version', 'role', 'by', 'decision', 'comment', 'vars'])
    String environment = shipgate.required('environment')
    List<String> argv = shipgate.option('--plan', 'plan', true) +
        ['--env', environment ?: ''] +
        shipgate.option('--version', 'version', true) +
        shipgate.option('--role', 'role', true) +
        shipgate.option('--by', 'by', true) +
        ['--decision', shipgate.value('decision') ?: 'approve'] +
        shipgate.option('--comment', 'comment') +
        shipgate.assignments('--var', 'vars')
    return shipgate.run('signoff', environment, argv, [])
}
