import io.shipgate.jenkins.Runner

// Send an event of the release chain by mail and chat: `shipgate notify`
// (help: shipgateNotify.txt). 3 (a required channel was not delivered) fails the build.
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateNotify', args,
                                 ['plan', 'environment', 'event', 'version', 'level', 'attachments',
                                  'comment', 'by', 'vars', 'flush', 'retryFailed'])
    String environment = shipgate.required('environment')
    List<String> argv = shipgate.option('--plan', 'plan', true) +
        ['--env', environment ?: ''] +
        shipgate.option('--event', 'event', !shipgate.flag('flush')) +
        shipgate.option('--version', 'version') +
        shipgate.option('--level', 'level') +
        shipgate.repeated('--attach', 'attachments') +
        shipgate.option('--comment', 'comment') +
        shipgate.option('--by', 'by') +
        shipgate.assignments('--var', 'vars') +
        shipgate.switchOption('--flush', 'flush') +
        shipgate.switchOption('--retry-failed', 'retryFailed')
    return shipgate.run('notify', environment, argv, [])
}
