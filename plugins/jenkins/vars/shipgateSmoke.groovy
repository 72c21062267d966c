import io.shipgate.jenkins.Runner

// Smoke test of a deployed service: `shipgate smoke-test` (help: shipgateSmoke.txt).
// Exit 1 (the service is wrong) follows onFail; 3 (the service is down) fails the build.
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateSmoke', args,
                                 ['checks', 'urls', 'vars', 'environment'])
    if (shipgate.value('checks') == null && Runner.lines(args.urls).isEmpty()) {
        shipgate.problem("give 'checks' (a checks file) or 'urls'")
    }
    String environment = shipgate.value('environment')
    List<String> argv = shipgate.option('--checks', 'checks') +
        shipgate.repeated('--url', 'urls') +
        shipgate.assignments('--var', 'vars') +
        shipgate.option('--environment', 'environment')
    return shipgate.run('smoke-test', environment, argv, [])
}
