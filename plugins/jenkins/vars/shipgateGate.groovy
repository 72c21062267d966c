import io.shipgate.jenkins.Runner

// Release gate on test reports: `shipgate gate-on-test-report` (help: shipgateGate.txt).
// Returns [exitCode, result, verdict, headline, name, json, junit, markdown, outDir]
// (+ mergedJunit); a failed gate fails the build (onFail: 'UNSTABLE' to go on).
def call(Map args = [:]) {
    Runner shipgate = new Runner(this, 'shipgateGate', args,
                                 ['reports', 'policy', 'baseline', 'environment', 'mergedJunit'])
    String environment = shipgate.value('environment')
    List<String> argv = shipgate.repeated('--report', 'reports', true) +
        shipgate.option('--policy', 'policy') +
        shipgate.option('--baseline', 'baseline') +
        shipgate.option('--environment', 'environment')
    List<String> extraJunit = []
    String merged = null
    if (shipgate.flag('mergedJunit')) {
        merged = shipgate.outputPath('gate-on-test-report', environment, '-merged.junit.xml')
        argv += ['--merged-junit', merged]
        extraJunit = [merged]
    }
    Map result = shipgate.run('gate-on-test-report', environment, argv, extraJunit)
    result.mergedJunit = merged
    return result
}
