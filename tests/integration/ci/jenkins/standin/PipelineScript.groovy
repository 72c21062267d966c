import groovy.json.JsonSlurper
import groovy.xml.XmlSlurper
import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.PathMatcher
import java.nio.file.StandardCopyOption
import java.util.concurrent.TimeUnit

// Stand-in for the Jenkins pipeline DSL (Jenkins cannot run here): the base class of
// every pipeline script and library step (vars/*.groovy) in the dry run. Each step
// behaves as the Jenkins step of that name does for the parameters the shipgate
// library and its examples use:
//   sh            really runs the script with `bash -xe` in the workspace, with the
//                 build's environment only; returnStatus/returnStdout as in Jenkins,
//                 otherwise a non-zero exit fails the build
//   junit         reads the report files (Ant-style patterns), refuses stale ones,
//                 marks the build UNSTABLE on failures unless skipMarkingBuildUnstable
//   archiveArtifacts  copies the matched files into the build's archive folder
//   unstable, error, echo, input (answered from the build's scripted answers),
//   readJSON (absent when the build says so), readFile, writeFile, fileExists,
//   withEnv, withCredentials (string credentials), timeout, lock, stage, node, script
// Unlike Jenkins, nothing here masks credentials in the console log: the checks see
// exactly what shipgate and the library print.
abstract class PipelineScript extends Script {

    static final String BUILD = '__standInBuild'

    StandInBuild standInBuild() {
        return (StandInBuild) binding.getVariable(BUILD)
    }

    // ---- steps -------------------------------------------------------------------------

    Object sh(String script) {
        return sh(script: script)
    }

    Object sh(Map args) {
        StandInBuild b = standInBuild()
        String script = args.script.toString()
        b.log('[Pipeline] sh' + (args.label ? " (${args.label})" : ''))
        File file = new File(b.dir, "script-${b.shCalls.size() + 1}.sh")
        file.text = script
        b.shCalls << [script: script, label: args.label]
        ProcessBuilder pb = new ProcessBuilder(['bash', '-xe', file.absolutePath]).directory(b.workspace)
        pb.environment().clear()
        pb.environment().putAll(b.effectiveEnv())
        boolean capture = args.returnStdout == true
        pb.redirectErrorStream(!capture)
        Process process = pb.start()
        process.outputStream.close()
        ByteArrayOutputStream out = new ByteArrayOutputStream()
        ByteArrayOutputStream err = new ByteArrayOutputStream()
        Thread outReader = process.consumeProcessOutputStream(out)
        Thread errReader = capture ? process.consumeProcessErrorStream(err) : null
        if (!process.waitFor(180, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            throw new PipelineError('sh: the script ran for more than 180 s')
        }
        outReader.join()
        errReader?.join()
        int code = process.exitValue()
        b.log(capture ? err.toString('UTF-8') : out.toString('UTF-8'))
        if (args.returnStatus == true) {
            return code
        }
        if (code != 0) {
            throw new PipelineError("script returned exit code ${code}")
        }
        return capture ? out.toString('UTF-8') : null
    }

    Object junit(String pattern) {
        return junit(testResults: pattern)
    }

    Object junit(Map args) {
        StandInBuild b = standInBuild()
        b.log('[Pipeline] junit')
        b.junitCalls << new LinkedHashMap(args)
        List<File> files = matching(args.testResults.toString())
        if (files.isEmpty()) {
            if (args.allowEmptyResults == true) {
                b.log('None of the test reports contained any result')
                return [totalCount: 0, failCount: 0, skipCount: 0, passCount: 0]
            }
            throw new PipelineError('No test report files were found. Configuration error?')
        }
        // Jenkins' JUnitParser: a file more than 3 s older than the build is a leftover.
        if (files.every { it.lastModified() < b.startedAt - 3000 }) {
            throw new PipelineError('Test reports were found but none of them are new. ' +
                                    'Did leftover test reports from a previous run get picked up?')
        }
        int total = 0
        int failed = 0
        int skipped = 0
        for (File f : files) {
            def xml
            try {
                xml = new XmlSlurper().parse(f)
            } catch (org.xml.sax.SAXException e) {
                throw new PipelineError("Failed to read test report file ${f}: ${e.message}")
            }
            def cases = xml.'**'.findAll { it.name() == 'testcase' }
            total += cases.size()
            failed += cases.count { !it.failure.isEmpty() || !it.error.isEmpty() }
            skipped += cases.count { !it.skipped.isEmpty() }
            // Like Jenkins, keep the results with the build: the workspace file may change later.
            File kept = new File(b.dir, "junit/${b.junitFiles.size() + 1}-${f.name}")
            kept.parentFile.mkdirs()
            Files.copy(f.toPath(), kept.toPath(), StandardCopyOption.REPLACE_EXISTING)
            b.junitFiles << kept
        }
        b.log("Recording test results: ${total} tests, ${failed} failed, ${skipped} skipped")
        if (failed > 0 && args.skipMarkingBuildUnstable != true) {
            b.worsen('UNSTABLE')
        }
        return [totalCount: total, failCount: failed, skipCount: skipped, passCount: total - failed - skipped]
    }

    Object archiveArtifacts(String pattern) {
        return archiveArtifacts(artifacts: pattern)
    }

    Object archiveArtifacts(Map args) {
        StandInBuild b = standInBuild()
        b.log('[Pipeline] archiveArtifacts')
        b.archiveCalls << new LinkedHashMap(args)
        List<File> files = matching(args.artifacts.toString())
        if (files.isEmpty() && args.allowEmptyArchive != true) {
            throw new PipelineError("No artifacts found that match the file pattern \"${args.artifacts}\"")
        }
        b.log("Archiving artifacts${args.fingerprint == true ? ' (fingerprinted)' : ''}")
        Path root = b.workspace.toPath()
        for (File f : files) {
            String relative = root.relativize(f.toPath()).toString()
            File target = new File(b.archive, relative)
            target.parentFile.mkdirs()
            Files.copy(f.toPath(), target.toPath(), StandardCopyOption.REPLACE_EXISTING)
            if (!b.archived.contains(relative)) {
                b.archived << relative
            }
        }
        return null
    }

    void unstable(String message) {
        unstable(message: message)
    }

    void unstable(Map args) {
        StandInBuild b = standInBuild()
        b.log('[Pipeline] unstable')
        b.log("WARNING: ${args.message}")
        b.worsen('UNSTABLE')
    }

    void error(String message) {
        standInBuild().log('[Pipeline] error')
        throw new PipelineError(message)
    }

    void echo(Object message) {
        standInBuild().log("[Pipeline] echo\n${message}")
    }

    /**
     * Answers with the build's next scripted answer ([approver: NAME, groups: [...], PARAM: value]),
     * as the person who clicked would; like Jenkins, only a listed submitter (user or group) may.
     */
    Object input(Map args) {
        StandInBuild b = standInBuild()
        b.log("[Pipeline] input\n${args.message}")
        b.inputCalls << new LinkedHashMap(args)
        if (b.answers.isEmpty()) {
            throw new PipelineError('input: nobody answered (no scripted answer left)', 'ABORTED')
        }
        Map answer = b.answers.remove(0)
        if (answer.abort) {
            b.log("Aborted by ${answer.approver}")
            throw new PipelineError("Aborted by ${answer.approver}", 'ABORTED')
        }
        String approver = answer.approver
        List<String> allowed = args.submitter ? args.submitter.toString().split(',')*.trim() : []
        List<String> identities = [approver] + (List<String>) (answer.groups ?: [])
        if (allowed && !identities.any { allowed.contains(it) }) {
            throw new PipelineError("input: ${approver} may not answer (submitter: ${args.submitter})")
        }
        b.log("Approved by ${approver}")
        List parameters = (List) (args.parameters ?: [])
        Map values = [:]
        for (Object p : parameters) {
            String name = ((Map) p).name
            values[name] = answer.containsKey(name) ? answer[name] : ((Map) p).defaultValue
        }
        if (args.submitterParameter) {
            if (parameters.isEmpty()) {
                return approver
            }
            values[args.submitterParameter.toString()] = approver
            return values
        }
        return parameters.size() == 1 ? values.values().first() : (parameters.isEmpty() ? null : values)
    }

    Map choice(Map args) {
        return [kind: 'choice'] + args
    }

    Map text(Map args) {
        return [kind: 'text'] + args
    }

    Map string(Map args) {
        return [kind: 'string'] + args
    }

    Object readJSON(Map args) {
        StandInBuild b = standInBuild()
        if (!b.readJsonAvailable) {
            throw new NoSuchMethodError("No such DSL method 'readJSON' found among steps [archiveArtifacts, " +
                                        'echo, error, fileExists, input, junit, readFile, sh, unstable, withEnv]')
        }
        b.log('[Pipeline] readJSON')
        return new JsonSlurper().parse(b.file(args.file.toString()))
    }

    String readFile(String path) {
        return readFile(file: path)
    }

    String readFile(Map args) {
        return standInBuild().file(args.file.toString()).getText('UTF-8')
    }

    void writeFile(Map args) {
        File f = standInBuild().file(args.file.toString())
        f.parentFile.mkdirs()
        f.setText(args.text.toString(), 'UTF-8')
    }

    boolean fileExists(String path) {
        return standInBuild().file(path).exists()
    }

    boolean fileExists(Map args) {
        return fileExists(args.file.toString())
    }

    Object withEnv(List<String> assignments, Closure body) {
        Map<String, String> overlay = [:]
        for (String assignment : assignments) {
            int eq = assignment.indexOf('=')
            overlay[assignment.substring(0, eq)] = assignment.substring(eq + 1)
        }
        return withOverlay(overlay, body)
    }

    Object withCredentials(List bindings, Closure body) {
        StandInBuild b = standInBuild()
        Map<String, String> overlay = [:]
        for (Object binding : bindings) {
            Map m = (Map) binding
            if (!b.credentials.containsKey(m.credentialsId)) {
                throw new PipelineError("Could not find credentials entry with ID '${m.credentialsId}'")
            }
            overlay[m.variable.toString()] = b.credentials[m.credentialsId]
        }
        return withOverlay(overlay, body)
    }

    Object timeout(Map args, Closure body) {
        return body.call()
    }

    Object lock(Object resource, Closure body) {
        StandInBuild b = standInBuild()
        String name = resource instanceof Map ? resource.resource : resource
        b.locks << name
        b.log("[Pipeline] lock\nLock acquired on [Resource: ${name}]")
        try {
            return body.call()
        } finally {
            b.log("Lock released on resource [Resource: ${name}]")
        }
    }

    Object stage(String name, Closure body) {
        StandInBuild b = standInBuild()
        b.stages << name
        b.log("[Pipeline] stage\n[Pipeline] { (${name})")
        try {
            return body.call()
        } finally {
            b.log('[Pipeline] }')
        }
    }

    Object node(Closure body) {
        return body.call()
    }

    Object script(Closure body) {
        return body.call()
    }

    /** Declarative Pipeline: see Declarative.groovy. */
    void pipeline(Closure body) {
        Declarative.run(this, body)
    }

    /** The library's steps (vars/NAME.groovy), called as NAME(args). */
    Object methodMissing(String name, Object args) {
        Object step = standInBuild().vars[name]
        if (step == null) {
            throw new MissingMethodException(name, getClass(), args as Object[])
        }
        return step.invokeMethod('call', args)
    }

    // ---- shared by the steps ----------------------------------------------------------

    private Object withOverlay(Map<String, String> overlay, Closure body) {
        StandInBuild b = standInBuild()
        b.overlays << overlay
        try {
            return body.call()
        } finally {
            b.overlays.remove(b.overlays.size() - 1)
        }
    }

    /** Files of the workspace matching comma-separated Ant-style patterns. */
    private List<File> matching(String patterns) {
        StandInBuild b = standInBuild()
        Path root = b.workspace.toPath()
        List<PathMatcher> matchers = []
        for (String pattern : patterns.split(',')*.trim().findAll { it }) {
            matchers << FileSystems.default.getPathMatcher("glob:${pattern}")
            if (pattern.startsWith('**/')) {
                // Ant's **/ also matches no folder at all.
                matchers << FileSystems.default.getPathMatcher("glob:${pattern.substring(3)}")
            }
        }
        List<File> files = []
        root.toFile().eachFileRecurse { File f ->
            if (f.isFile()) {
                Path relative = root.relativize(f.toPath())
                if (matchers.any { it.matches(relative) }) {
                    files << f
                }
            }
        }
        return files.sort { it.path }
    }

}
