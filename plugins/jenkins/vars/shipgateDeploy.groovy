import io.shipgate.jenkins.Runner

// Deploy one version to one environment of a launch plan: `shipgate deploy-stage`
// (help: shipgateDeploy.txt). Exit 1 (failed, rolled back) follows onFail;
// 4 (refused: lock, sign-offs, order, bad version) and 5 (rollback failed) fail the build.
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateDeploy', args,
                                 ['plan', 'environment', 'version', 'artifacts', 'sha256', 'vars',
                                  'waitLock', 'deadline', 'level', 'resume', 'abort'])
    boolean signal = shipgate.flag('resume') || shipgate.flag('abort')
    String environment = shipgate.required('environment')
    List<String> argv = shipgate.option('--plan', 'plan', true) +
        ['--env', environment ?: ''] +
        shipgate.option('--version', 'version', !signal) +
        shipgate.repeated('--artifact', 'artifacts') +
        shipgate.repeated('--sha256', 'sha256') +
        shipgate.assignments('--var', 'vars') +
        shipgate.option('--wait-lock', 'waitLock') +
        shipgate.option('--deadline', 'deadline') +
        shipgate.option('--level', 'level') +
        shipgate.switchOption('--resume', 'resume') +
        shipgate.switchOption('--abort', 'abort')
    return shipgate.run('deploy-stage', environment, argv, [])
}
