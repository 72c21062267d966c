// Dry run of the shipgate Jenkins library (plugins/jenkins) and of its example
// Jenkinsfile in the stand-in for the Jenkins pipeline DSL (standin/; Jenkins cannot
// run here), against the real shipgate binary.
//
// Usage: dryrun.groovy REPO WORK SHIPGATE HOOK_URL FIRST
//   WORK holds the workspaces written by fixtures.sh; HOOK_URL is a webhook receiver
//   on 127.0.0.1 for the notifications; FIRST is the number of the first check.
// Prints "ok N - what" for each check. At the first failing check it prints what was
// expected, what was found and the end of the build's log, and exits 1. Writes the
// number of checks passed to WORK/dryrun.count and every JUnit file a build published
// to WORK/junit-files.txt (run.sh validates them against the schema).

import groovy.json.JsonSlurper
import groovy.xml.XmlSlurper
import groovy.transform.Field

@Field String repo = args[0]
@Field File work = new File(args[1])
@Field String shipgate = args[2]
@Field String hookUrl = args[3]
@Field int first = args[4] as int
@Field int passed = 0
@Field Set<String> junitPublished = new TreeSet<String>()

@Field String producers = "${repo}/tests/fixtures/producers"
@Field String failingReport = "${producers}/pytest-xunit2/report.xml"
@Field File wsLib = new File(work, 'ws-lib')
@Field File targets = new File(work, 'targets')
// A text no shell may evaluate: quotes, spaces, $(…), backticks, ; and >.
@Field String tricky = "it's \"quoted\" \$(touch ${args[1]}/pwned) `touch ${args[1]}/pwned2` ; echo x > ${args[1]}/pwned3"
@Field String secret = 'Sup3r-S3cret-Credential-917'
@Field String dbUrl = 'postgres://shop:Pr0d-Db-Pa55word@db.internal:5432/shop'

GroovyClassLoader standInLoader = new GroovyClassLoader(this.class.classLoader)
standInLoader.addClasspath("${repo}/tests/integration/ci/jenkins/standin")
Class standInClass = standInLoader.loadClass('JenkinsStandIn')
@Field Object jenkins
jenkins = standInClass.newInstance(new File(repo, 'plugins/jenkins'), new File(work, 'jenkins'), 'shop-release',
                                   standInLoader)

// ---- checks and what they read -----------------------------------------------------

void check(boolean ok, String what, Object build = null, Object expected = null, Object found = null) {
    if (ok) {
        passed++
        println "ok ${first + passed - 1} - dry run: ${what}"
        return
    }
    System.err.println "FAILED: ${what}"
    if (expected != null || found != null) {
        System.err.println "  expected: ${expected}"
        System.err.println "  found:    ${found}"
    }
    if (build != null) {
        System.err.println "  build #${build.number} (${build.name}) ended ${build.currentResult}; " +
                           "log: ${build.dir}/log.txt; last lines:"
        build.logText.readLines().takeRight(25).each { System.err.println "  | ${it}" }
    }
    System.exit(1)
}

Object build(Map opts, String script) {
    Map env = [SHIPGATE_BIN: shipgate, TARGETS: targets.path, TRICKY: tricky, HOOK_URL: hookUrl,
               HOOK_SECRET: 'whsec_c2hpcGdhdGUtZHJ5LXJ1bi1ob29rLXNlY3JldA==']
    env.putAll((Map) (opts.env ?: [:]))
    Object b = jenkins.run([workspace: wsLib.path] + opts + [env: env], script)
    b.junitFiles.each { junitPublished << it.path }
    return b
}

boolean logHas(Object b, String text) {
    return b.logText.contains(text)
}

Object json(File f) {
    return new JsonSlurper().parse(f)
}

File out(Object b, String file) {
    return new File(b.workspace, "shipgate-out/${file}")
}

/** The version the web root of ENV/HOST serves (targets under ROOT). */
String live(File root, String env, String host) {
    File index = new File(root, "${env}/${host}/current/public/index.html")
    return index.exists() ? index.text.trim() - 'version ' : null
}

List<String> liveEverywhere(File root, String env) {
    return ['web-1', 'web-2', 'web-3'].collect { live(root, env, it) }
}

/** shipgate history --json of ENV: the ledger entries, newest first. */
List history(File plan, String env, List<String> vars) {
    File result = File.createTempFile('history', '.json', work)
    List<String> argv = [shipgate, 'history', '--ci', 'none', '--plan', plan.path, '--env', env, '--limit', '100',
                         '--json', result.path, '--quiet'] + vars.collectMany { ['--var', it] }
    Process p = new ProcessBuilder(argv*.toString()).redirectErrorStream(true).start()
    String text = p.inputStream.text
    p.waitFor()
    check(p.exitValue() == 0, "shipgate history --env ${env} reads the ledger", null, 'exit 0', "exit ${p.exitValue()}: ${text}")
    return (List) json(result).entries
}

/** Every archived file of the build that contains TEXT. */
List<String> archivedWith(Object b, String text) {
    List<String> hits = []
    b.archive.eachFileRecurse { File f ->
        if (f.isFile() && f.getText('UTF-8').contains(text)) {
            hits << f.path
        }
    }
    return hits
}

boolean noInjection() {
    return !['pwned', 'pwned2', 'pwned3'].any { new File(work, it).exists() }
}

// ---- the gate ----------------------------------------------------------------------------

Object b = build([name: 'gate-fails'], '''
stage('Release gate') {
    shipgateGate reports: env.FAILING_REPORT, environment: 'test'
}
stage('Deploy') {
    echo 'the deploy stage started'
}
'''.replace('env.FAILING_REPORT', "'${failingReport}'"))
check(b.currentResult == 'FAILURE', 'a failed gate fails the build by default', b, 'FAILURE', b.currentResult)
check(logHas(b, 'ERROR: shipgate gate-on-test-report: negative verdict (exit 1): FAIL: failures-A'),
      'the error names the exit code and carries the JSON headline', b)
check(!logHas(b, 'the deploy stage started'), 'the pipeline stops at the failed gate', b)
String script = b.shCalls[0].script
String command = script.readLines()[1]
check(command.startsWith("'${shipgate}' 'gate-on-test-report' '--ci' 'jenkins' '--report' '${failingReport}' " +
                         "'--environment' 'test' '--json' 'shipgate-out/gate-on-test-report-test.json'"),
      'the command line: every word single-quoted, --ci jenkins, outputs in shipgate-out', b,
      'the quoted argv', command)
check(b.junitCalls == [[testResults: 'shipgate-out/gate-on-test-report-test.junit.xml', allowEmptyResults: true,
                        skipMarkingBuildUnstable: true]],
      'junit publishes the rules report even though the gate failed', b, 'one junit call', b.junitCalls)
check(b.junitFiles*.name == ['1-gate-on-test-report-test.junit.xml'], 'the JUnit file exists and was read', b,
      'gate-on-test-report-test.junit.xml', b.junitFiles)
check(b.archiveCalls == [[artifacts: 'shipgate-out/**', allowEmptyArchive: true, fingerprint: true]],
      'archiveArtifacts keeps shipgate-out/** with fingerprints', b, 'one archive call', b.archiveCalls)
check(['json', 'junit.xml', 'md'].every { b.archived.contains("shipgate-out/gate-on-test-report-test.${it}".toString()) },
      'the JSON, JUnit and Markdown results are archived', b, 'three files', b.archived)
Map result = json(out(b, 'gate-on-test-report-test.json'))
check(result.ci.provider == 'jenkins' && result.ci.pipeline_url == b.env.BUILD_URL && result.ci.commit == b.env.GIT_COMMIT,
      'shipgate reads the Jenkins context (provider, BUILD_URL, GIT_COMMIT)', b, "jenkins ${b.env.BUILD_URL}", result.ci)

b = build([name: 'gate-fails-unstable'], """
def gate = shipgateGate reports: '${failingReport}', environment: 'test', onFail: 'UNSTABLE'
echo "the pipeline goes on after verdict \${gate.verdict}"
return gate
""")
check(b.currentResult == 'UNSTABLE', "onFail: 'UNSTABLE' makes a failed gate UNSTABLE", b, 'UNSTABLE', b.currentResult)
check(logHas(b, 'the pipeline goes on after verdict fail'), 'and the pipeline goes on', b)
check(b.returned.exitCode == 1 && b.returned.verdict == 'fail' && b.returned.result == 'UNSTABLE' &&
      b.returned.headline.startsWith('FAIL: failures-A') && b.returned.json == 'shipgate-out/gate-on-test-report-test.json',
      'the step returns exitCode, verdict, result, headline and the output paths', b, 'exit 1, fail, UNSTABLE', b.returned)

b = build([name: 'gate-passes'], """
return shipgateGate(reports: ['${failingReport}'], baseline: 'shipgate-out/gate-on-test-report-test.json',
                    name: 'gate-vs-baseline', mergedJunit: true, args: '--max-listed=5')
""")
check(b.currentResult == 'SUCCESS' && b.returned.exitCode == 0 && b.returned.verdict == 'pass',
      'a passing gate (no new failure since the baseline) leaves the build SUCCESS', b, 'SUCCESS, exit 0', b.returned)
check(b.junitCalls[0].testResults == 'shipgate-out/gate-vs-baseline.junit.xml, shipgate-out/gate-vs-baseline-merged.junit.xml',
      'mergedJunit: the normalized test results are published with the rules', b, 'two files', b.junitCalls)
check(b.junitFiles.size() == 2 && new XmlSlurper().parse(b.junitFiles[1]).'**'.count { it.name() == 'testcase' } >= 8,
      'the merged JUnit file holds the test cases of the reports', b, '>= 8 test cases', b.junitFiles)
check(b.shCalls[0].script.contains("'--max-listed=5'"), 'args: each line is one more argument', b)

b = build([name: 'gate-inconclusive-unstable'],
          "shipgateGate reports: 'no-such-folder/*.xml', onInconclusive: 'UNSTABLE'")
check(b.currentResult == 'UNSTABLE' && logHas(b, 'inconclusive or invalid input (exit 2)'),
      "exit 2 with onInconclusive: 'UNSTABLE' makes the build UNSTABLE", b, 'UNSTABLE', b.currentResult)
b = build([name: 'gate-inconclusive'], "shipgateGate reports: 'no-such-folder/*.xml'")
check(b.currentResult == 'FAILURE' && logHas(b, 'ERROR: shipgate gate-on-test-report: inconclusive or invalid input (exit 2)'),
      'exit 2 fails the build by default', b, 'FAILURE', b.currentResult)

b = build([name: 'gate-without-readjson', readJSON: false],
          "shipgateGate reports: '${failingReport}', environment: 'test'")
check(b.currentResult == 'FAILURE' && logHas(b, 'ERROR: shipgate gate-on-test-report: negative verdict (exit 1); ' +
                                               'details in shipgate-out/gate-on-test-report-test.md'),
      'without the Pipeline Utility Steps plugin the message names the exit code and the Markdown file', b)
check(!logHas(b, 'No such DSL method') && !logHas(b, 'unexpected'), 'a missing readJSON is not an error', b)

b = build([name: 'gate-no-junit'],
          "shipgateGate reports: '${failingReport}', publishJunit: false, onFail: 'UNSTABLE'")
check(b.junitCalls.isEmpty() && b.archiveCalls.size() == 1, 'publishJunit: false skips junit, still archives', b,
      'no junit call, one archive call', "${b.junitCalls} ${b.archiveCalls}")

b = build([name: 'bad-parameters'], """
shipgateDeploy plan: 'release/plan.yml', environment: 'test', versoin: '1.0', onFail: 'MAYBE',
               outDir: '../elsewhere', secretEnv: 'NOT A NAME'
""")
check(b.currentResult == 'FAILURE' && logHas(b, "unknown parameter 'versoin'") &&
      logHas(b, "parameter 'version' is required") && logHas(b, "parameter 'onFail' must be 'FAILURE' or 'UNSTABLE'") &&
      logHas(b, "outDir '../elsewhere' must be a folder inside the workspace") &&
      logHas(b, "secretEnv: 'NOT A NAME' is not an environment variable name"),
      'parameter mistakes fail the build with every mistake named', b)
check(b.shCalls.isEmpty(), 'and shipgate does not run', b, 'no sh call', b.shCalls)

b = build([name: 'no-shipgate'], "shipgateGate reports: '${failingReport}', shipgate: 'no-such-shipgate'")
check(b.currentResult == 'FAILURE' && b.shCalls[0].script.readLines()[1].startsWith("'no-such-shipgate' 'gate-on-test-report'") &&
      logHas(b, 'shipgate could not be started: set the shipgate parameter or SHIPGATE_BIN (exit 127)'),
      'the shipgate parameter names the executable; one that is missing fails the build saying so', b)

// ---- deploy, smoke, sign-off, rollback -------------------------------------------------

b = build([name: 'deploy-test-staging'], '''
def deployed
lock('shop-test') {
    deployed = shipgateDeploy plan: 'release/plan.yml', environment: 'test', version: '1.0',
                              artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
    shipgateSmoke checks: 'release/smoke.yml', environment: 'test',
                  vars: [ROOT: env.TARGETS, ENVIRONMENT: 'test', VERSION: '1.0']
}
lock('shop-staging') {
    shipgateDeploy plan: 'release/plan.yml', environment: 'staging', version: '1.0',
                   artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
}
return deployed
''')
check(b.currentResult == 'SUCCESS' && b.returned.exitCode == 0 && b.returned.name == 'deploy-stage-test',
      'shipgateDeploy to test and staging, shipgateSmoke in between: SUCCESS', b, 'SUCCESS', b.returned)
check(liveEverywhere(targets, 'test') == ['1.0'] * 3 && liveEverywhere(targets, 'staging') == ['1.0'] * 3,
      '1.0 is live on every target of test and staging', b, '1.0 x3', liveEverywhere(targets, 'staging'))
check(b.locks == ['shop-test', 'shop-staging'], 'the deploys ran under lock()', b, ['shop-test', 'shop-staging'], b.locks)
check(['deploy-stage-test', 'smoke-test-test', 'deploy-stage-staging'].every { b.archived.contains("shipgate-out/${it}.json".toString()) },
      'each step archived its JSON under its own name', b, 'deploy-stage-test.json…', b.archived)

b = build([name: 'deploy-fails'], '''
shipgateDeploy plan: 'release/plan.yml', environment: 'test', version: '1.1',
               artifacts: 'dist/app-1.1.tar.gz', vars: [ROOT: env.TARGETS]
echo 'the smoke test started'
''')
check(b.currentResult == 'FAILURE' &&
      logHas(b, 'ERROR: shipgate deploy-stage: negative verdict (exit 1): FAIL: 1.1 was not released to test') &&
      logHas(b, 'rolled back to 1.0'),
      'a deploy that fails and rolls back fails the build with its headline', b)
check(!logHas(b, 'the smoke test started') && liveEverywhere(targets, 'test') == ['1.0'] * 3,
      'the pipeline stops; test is back on 1.0', b, '1.0 x3', liveEverywhere(targets, 'test'))

b = build([name: 'prod-refused'], '''
shipgateDeploy plan: 'release/plan.yml', environment: 'prod', version: '1.0',
               artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
''')
check(b.currentResult == 'FAILURE' && logHas(b, 'shipgate deploy-stage: refused by policy (exit 4)') &&
      logHas(b, 'no approval from tester, tech-lead'),
      'prod without sign-offs: exit 4 fails the build naming the missing roles', b)
check(liveEverywhere(targets, 'prod') == [null] * 3, 'and nothing was deployed to prod', b, 'nothing',
      liveEverywhere(targets, 'prod'))

b = build([name: 'prod-signoffs', startedBy: 'release-manager', answers: [
    [approver: 'carol', groups: ['shop-qa'], DECISION: 'approve', COMMENT: tricky],
    [approver: 'dave', DECISION: 'approve']]], '''
def tester = shipgateApproval plan: 'release/plan.yml', environment: 'prod', version: '1.0', role: 'tester',
                              submitter: 'shop-qa', vars: [ROOT: env.TARGETS]
def techLead = shipgateApproval plan: 'release/plan.yml', environment: 'prod', version: '1.0', role: 'tech-lead',
                            submitter: 'dave,erin', vars: [ROOT: env.TARGETS]
def prod = shipgateDeploy plan: 'release/plan.yml', environment: 'prod', version: '1.0',
                          artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
return [tester: tester, techLead: techLead, prod: prod]
''')
check(b.currentResult == 'SUCCESS' && b.returned.prod.exitCode == 0,
      'input -> signoff for both roles, then the prod deploy succeeds', b, 'SUCCESS', b.currentResult)
Map asked = b.inputCalls[0]
check(asked.submitterParameter == 'SHIPGATE_APPROVER' && asked.submitter == 'shop-qa' &&
      asked.id == 'signoff-prod-tester' && asked.parameters*.name == ['DECISION', 'COMMENT'],
      'shipgateApproval asks with input: submitter, submitterParameter, a decision and a comment', b,
      'submitterParameter SHIPGATE_APPROVER', asked)
check(b.returned.tester.approver == 'carol' && b.returned.tester.name == 'signoff-prod-tester' &&
      b.archived.contains('shipgate-out/signoff-prod-tech-lead.json'),
      'each role gets its own output name; the step returns who approved', b, 'carol', b.returned.tester)
List prodLedger = history(new File(wsLib, 'release/plan.yml'), 'prod', ["ROOT=${targets}"])
Map testerSignoff = prodLedger.find { it.event == 'signoff' && it.role == 'tester' }
check(testerSignoff?.by == 'carol' && testerSignoff.outcome == 'approved' && testerSignoff.comment == tricky,
      'the ledger records the approver named by input, and the comment byte for byte', b,
      "by carol, comment ${tricky}", testerSignoff)
check(prodLedger.any { it.event == 'signoff' && it.role == 'tech-lead' && it.by == 'dave' },
      'and the tech lead who approved', b, 'dave', prodLedger*.by)
Map prodDeploy = prodLedger.find { it.event == 'deploy' }
check(prodDeploy?.outcome == 'succeeded' && prodDeploy.version == '1.0' && prodDeploy.provider == 'jenkins' &&
      prodDeploy.pipeline_url == b.env.BUILD_URL && prodDeploy.user == 'release-manager',
      'the prod deploy is on record with the build and the user who started it', b,
      "succeeded, ${b.env.BUILD_URL}, release-manager", prodDeploy)
check(liveEverywhere(targets, 'prod') == ['1.0'] * 3, '1.0 is live on every prod target (canary, then the rest)', b,
      '1.0 x3', liveEverywhere(targets, 'prod'))
check(noInjection(), 'the comment reached shipgate as text: nothing in it ran', b)

File targetsSelf = new File(work, 'targets-self')
b = build([name: 'self-approval', startedBy: 'carol', env: [TARGETS: targetsSelf.path], answers: [
    [approver: 'carol', groups: ['shop-qa'], DECISION: 'approve'], [approver: 'dave', DECISION: 'approve']]], '''
['test', 'staging'].each { stage ->
    shipgateDeploy plan: 'release/plan.yml', environment: stage, version: '1.0',
                   artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
}
shipgateApproval plan: 'release/plan.yml', environment: 'prod', version: '1.0', role: 'tester',
                 submitter: 'shop-qa', vars: [ROOT: env.TARGETS]
shipgateApproval plan: 'release/plan.yml', environment: 'prod', version: '1.0', role: 'tech-lead',
                 submitter: 'dave', vars: [ROOT: env.TARGETS]
shipgateDeploy plan: 'release/plan.yml', environment: 'prod', version: '1.0',
               artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
''')
check(b.currentResult == 'FAILURE' && logHas(b, 'refused by policy (exit 4)') &&
      logHas(b, 'an approval by the person who triggered this deploy does not count') &&
      b.shCalls.last().script.contains("'--user' 'carol'"),
      'self_approval: false holds: carol started the build, so her own approval does not count', b)

b = build([name: 'prod-reject', answers: [
    [approver: 'erin', groups: ['shop-qa'], DECISION: 'reject', COMMENT: 'checkout crashes with an empty cart']]], '''
shipgateApproval plan: 'release/plan.yml', environment: 'prod', version: '1.2', role: 'tester',
                 submitter: 'shop-qa', vars: [ROOT: env.TARGETS]
''')
check(b.currentResult == 'FAILURE' && logHas(b, 'tester erin rejected 1.2 for prod: checkout crashes with an empty cart'),
      'a reject is recorded, then fails the build with the reason', b)
check(history(new File(wsLib, 'release/plan.yml'), 'prod', ["ROOT=${targets}"]).any {
          it.event == 'signoff' && it.outcome == 'rejected' && it.by == 'erin' && it.version == '1.2' },
      'the ledger holds the rejection by erin', b)

// The hand-written input -> shipgateSignoff snippet of docs/ci-jenkins.md, run as written.
String docs = new File(repo, 'docs/ci-jenkins.md').text
String snippet = (docs =~ /(?s)The same without shipgateApproval:\n\n```groovy\n(.*?)```/)[0][1]
b = build([name: 'docs-signoff-snippet', env: [PLAN: 'release/plan.yml', VERSION: '1.2', ROOT: targets.path],
           answers: [[approver: 'frank', groups: ['shop-qa'], COMMENT: 'fixed in 1.2: cart works']]], snippet)
check(b.currentResult == 'SUCCESS' && b.inputCalls[0].submitterParameter == 'APPROVER' &&
      history(new File(wsLib, 'release/plan.yml'), 'prod', ["ROOT=${targets}"]).any {
          it.event == 'signoff' && it.by == 'frank' && it.version == '1.2' && it.comment == 'fixed in 1.2: cart works' },
      'docs/ci-jenkins.md: the input -> shipgateSignoff snippet records the person who answered', b)

b = build([name: 'rollback'], '''
shipgateDeploy plan: 'release/plan.yml', environment: 'test', version: '1.2',
               artifacts: 'dist/app-1.2.tar.gz', vars: [ROOT: env.TARGETS]
shipgateRollback plan: 'release/plan.yml', environment: 'test', vars: [ROOT: env.TARGETS],
                 args: ['--reason', env.TRICKY]
''')
check(b.currentResult == 'SUCCESS' && liveEverywhere(targets, 'test') == ['1.0'] * 3,
      'shipgateRollback returns test to the last good version (1.2 -> 1.0)', b, '1.0 x3', liveEverywhere(targets, 'test'))
Map rollback = history(new File(wsLib, 'release/plan.yml'), 'test', ["ROOT=${targets}"]).find { it.event == 'rollback' }
check(rollback?.reason == tricky && rollback.outcome == 'succeeded',
      'a reason with quotes, spaces, $(…) and backticks reaches the ledger intact', b, tricky, rollback?.reason)
check(noInjection(), 'no shell evaluated it', b)

File targets5 = new File(work, 'targets-5')
b = build([name: 'rollback-fails', env: [TARGETS: targets5.path]], '''
shipgateDeploy plan: 'release/plan.yml', environment: 'test', version: '1.0',
               artifacts: 'dist/app-1.0.tar.gz', vars: [ROOT: env.TARGETS]
sh 'touch "$TARGETS/test.down"'   // from now on every health check of test fails
shipgateDeploy plan: 'release/plan.yml', environment: 'test', version: '1.2',
               artifacts: 'dist/app-1.2.tar.gz', vars: [ROOT: env.TARGETS]
''')
check(b.currentResult == 'FAILURE' &&
      logHas(b, 'ERROR: shipgate deploy-stage: rollback failed: a person is needed now (exit 5): ') &&
      logHas(b, 'ROLLBACK FAILED'),
      'exit 5 fails the build: "rollback failed: a person is needed now"', b)

ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName('127.0.0.1'))
int closedPort = probe.localPort
probe.close()
b = build([name: 'smoke-down'], "shipgateSmoke urls: ['http://127.0.0.1:${closedPort}/health'], environment: 'test'")
check(b.currentResult == 'FAILURE' && logHas(b, 'ERROR: shipgate smoke-test: runtime failure (exit 3): '),
      'a service that is down (exit 3) fails the build with the headline', b)

// ---- secrets ------------------------------------------------------------------------------

String secretPipeline = '''
withCredentials([string(credentialsId: 'deploy-credential', variable: 'DEPLOY_CREDENTIAL')]) {
    shipgateSmoke checks: 'release/secret-smoke.yml', name: 'smoke-secret', onFail: 'UNSTABLE' SECRET_ENV
}
'''
b = build([name: 'secret-masked', credentials: ['deploy-credential': secret]],
          secretPipeline.replace('SECRET_ENV', ", secretEnv: ['DEPLOY_CREDENTIAL']"))
check(b.currentResult == 'UNSTABLE' && b.shCalls[0].script.contains("'--secret-env' 'DEPLOY_CREDENTIAL'"),
      'secretEnv becomes --secret-env NAME (the name, never the value)', b)
check(!b.logText.contains(secret), 'the secret never appears in the console log', b, 'absent', 'present')
check(archivedWith(b, secret).isEmpty(), 'nor in any archived artifact', b, 'no file', archivedWith(b, secret))
check(out(b, 'smoke-secret.json').text.contains('credential=***'), 'shipgate masked it where the check printed it', b)
b = build([name: 'secret-control', credentials: ['deploy-credential': secret], workspace: new File(work, 'ws-leak').path],
          secretPipeline.replace('SECRET_ENV', ''))
check(!archivedWith(b, secret).isEmpty(),
      'control: without secretEnv the same value shows in the artifacts (the check above can see a leak)', b)

// ---- notify -------------------------------------------------------------------------------

b = build([name: 'notify'], '''
return shipgateNotify(plan: 'release/notify-plan.yml', environment: 'staging', event: 'staging-ready',
                      version: '1.0', comment: env.TRICKY, attachments: 'release/notes with spaces.txt',
                      vars: [ROOT: env.TARGETS])
''')
Map notified = json(out(b, 'notify-staging.json'))
check(b.currentResult == 'SUCCESS' && notified.deliveries*.state == ['delivered'],
      'shipgateNotify delivers the event (webhook on 127.0.0.1)', b, ['delivered'], notified.deliveries*.state)
check(noInjection(), 'a comment and an attachment name with spaces and quotes reach shipgate intact', b)
b = build([name: 'notify-down', env: [HOOK_URL: "http://127.0.0.1:${closedPort}/hook"]], '''
shipgateNotify plan: 'release/notify-plan.yml', environment: 'staging', event: 'staging-ready',
               version: '1.0', vars: [ROOT: env.TARGETS]
''')
check(b.currentResult == 'FAILURE' && logHas(b, 'ERROR: shipgate notify: runtime failure (exit 3): '),
      'a required channel that is down (exit 3) fails the build', b)

// ---- the example Jenkinsfile -------------------------------------------------------------

String example = new File(repo, 'plugins/jenkins/examples/Jenkinsfile').text
File shopRoot = new File(work, 'shop')
Map exampleOpts = [workspace: new File(work, 'ws-example').path, credentials: ['shop-prod-db-url': dbUrl],
                   env: [SHOP_ROOT: shopRoot.path, FIXTURES: producers, BUILD_USER_ID: 'release-bot',
                         MAKE_ARTIFACTS: "${repo}/tests/fixtures/deploy/make-artifacts.sh"]]
List approvers = [[approver: 'carol', groups: ['shop-qa'], DECISION: 'approve', COMMENT: 'acceptance run green'],
                  [approver: 'dave', groups: ['shop-leads'], DECISION: 'approve']]
b = build(exampleOpts + [name: 'example-release', params: [VERSION: '2.0'], answers: approvers], example)
check(b.currentResult == 'SUCCESS', 'examples/Jenkinsfile: the whole release runs green', b, 'SUCCESS', b.currentResult)
check(b.stages == ['Build and test', 'Release gate', 'Deploy to test', 'Deploy to staging', 'Sign-offs for prod',
                   'Deploy to prod'] && b.locks == ['shop-test', 'shop-staging', 'shop-prod'],
      'every stage ran, each deploy under its lock', b, 'six stages, three locks', "${b.stages} ${b.locks}")
check(['test', 'staging', 'prod'].every { liveEverywhere(shopRoot, it) == ['2.0'] * 3 },
      '2.0 is live on every target of test, staging and prod', b, '2.0 x9',
      ['test', 'staging', 'prod'].collect { liveEverywhere(shopRoot, it) })
File examplePlan = new File(work, 'ws-example/release/launch-plan.yml')
List exampleLedger = history(examplePlan, 'prod', ["SHOP_ROOT=${shopRoot}"])
check(exampleLedger.find { it.event == 'deploy' }?.user == 'release-bot',
      'BUILD_USER_ID (Build User Vars plugin) names the user in the ledger', b, 'release-bot',
      exampleLedger.find { it.event == 'deploy' })
check(['carol', 'dave'].every { who -> exampleLedger.any { it.event == 'signoff' && it.by == who && it.version == '2.0' } },
      'the sign-offs of carol and dave are on record for 2.0', b, 'carol, dave', exampleLedger*.by)
check(json(out(b, 'notify-prod.json')).deliveries*.state == ['delivered'], 'post success: the release is announced', b)
check(!b.logText.contains(dbUrl) && archivedWith(b, dbUrl).isEmpty() &&
      out(b, 'deploy-stage-prod.json').text.contains('reconnecting to ***'),
      'the prod credential (withCredentials + secretEnv) is masked in the log and the artifacts', b)

new File(shopRoot, 'prod-outage').text = 'the prod smoke test fails from now on'
b = build(exampleOpts + [name: 'example-rollback', params: [VERSION: '2.1'], answers: approvers], example)
check(b.currentResult == 'FAILURE' && logHas(b, 'ERROR: shipgate smoke-test: negative verdict (exit 1)'),
      'examples/Jenkinsfile: 2.1 fails its prod smoke test', b)
check(liveEverywhere(shopRoot, 'prod') == ['2.0'] * 3 && liveEverywhere(shopRoot, 'staging') == ['2.1'] * 3,
      'post failure: shipgateRollback returned prod to 2.0 (staging keeps 2.1)', b, 'prod 2.0 x3',
      liveEverywhere(shopRoot, 'prod'))
Map exampleRollback = history(examplePlan, 'prod', ["SHOP_ROOT=${shopRoot}"]).find { it.event == 'rollback' }
check(exampleRollback?.reason == "build ${b.number}: the smoke test after the deploy failed".toString(),
      'the rollback is on record with the reason the Jenkinsfile gave', b, 'build N: …', exampleRollback)

new File(work, 'dryrun.count').text = "${passed}\n"
new File(work, 'junit-files.txt').text = junitPublished.join('\n') + '\n'
println "dry run: ${passed} checks passed"
