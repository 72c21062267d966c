import io.shipgate.jenkins.Runner

// Return an environment to its last good version on record: `shipgate rollback`
// (help: shipgateRollback.txt). 4 (nothing to return to, lock held) and
// 5 (the rollback failed: a person is needed now) fail the build.
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateRollback', args,
                                 ['plan', 'environment', 'to', 'reason', 'level', 'vars', 'waitLock',
                                  'forcePastIrreversible'])
    String environment = shipgate.required('environment')
    List<String> argv = shipgate.option('--plan', 'plan', true) +
        ['--env', environment ?: ''] +
        shipgate.option('--to', 'to') +
        shipgate.option('--reason', 'reason') +
        shipgate.option('--level', 'level') +
        shipgate.assignments('--var', 'vars') +
        shipgate.option('--wait-lock', 'waitLock') +
        shipgate.switchOption('--force-past-irreversible', 'forcePastIrreversible')
    return shipgate.run('rollback', environment, argv, [])
}
