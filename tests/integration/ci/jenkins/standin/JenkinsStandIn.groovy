import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.runtime.InvokerHelper

// Stand-in for a Jenkins controller (Jenkins cannot run here): loads a shared
// library's steps (vars/*.groovy, with src/ on the class path) and runs pipeline
// scripts as numbered builds of one job, each with its own folder (console log in
// log.txt, archived artifacts in archive/, the sh scripts it ran).
class JenkinsStandIn {

    static final String JENKINS_URL = 'http://jenkins.example.test/'

    final File work
    final String job
    final GroovyClassLoader loader
    final Map<String, Class> steps = [:]
    int builds = 0

    JenkinsStandIn(File library, File work, String job, ClassLoader parent) {
        this.work = work
        this.job = job
        CompilerConfiguration config = new CompilerConfiguration()
        config.scriptBaseClass = 'PipelineScript'
        loader = new GroovyClassLoader(parent, config)
        loader.addClasspath(new File(library, 'src').path)
        new File(library, 'vars').listFiles().sort().each { File f ->
            if (f.name.endsWith('.groovy')) {
                steps[f.name - '.groovy'] = loader.parseClass(f)
            }
        }
    }

    /**
     * Runs SOURCE as a build. opts: name (required), workspace (default: one per name),
     * env, params, credentials, answers (for input), readJSON (false: no such step),
     * startedBy (the user who started the build).
     */
    StandInBuild run(Map opts, String source) {
        int number = ++builds
        String name = opts.name
        StandInBuild b = new StandInBuild(name: name, number: number)
        b.dir = new File(work, "builds/${number}-${name}")
        b.archive = new File(b.dir, 'archive')
        b.workspace = new File(opts.workspace ?: new File(work, "workspaces/${name}").path)
        [b.dir, b.archive, b.workspace]*.mkdirs()
        b.env = environment(b, (Map) (opts.env ?: [:]))
        b.params.putAll((Map) (opts.params ?: [:]))
        b.credentials.putAll((Map) (opts.credentials ?: [:]))
        b.answers.addAll((List) (opts.answers ?: []))
        b.readJsonAvailable = opts.readJSON != false
        b.startedBy = opts.startedBy

        Binding binding = new Binding()
        binding.setVariable(PipelineScript.BUILD, b)
        binding.setVariable('env', new EnvView(b))
        binding.setVariable('params', b.params)
        binding.setVariable('currentBuild', new CurrentBuild(b))
        steps.each { String step, Class cls -> b.vars[step] = InvokerHelper.createScript(cls, binding) }

        b.log("Started build #${number} (${name}) in the stand-in for Jenkins")
        try {
            Script script = InvokerHelper.createScript(loader.parseClass(source, "${opts.file ?: 'Jenkinsfile'}"), binding)
            b.returned = script.run()
        } catch (PipelineError e) {
            b.log("ERROR: ${e.message}")
            b.worsen(e.result)
        } catch (Throwable t) {
            StringWriter trace = new StringWriter()
            t.printStackTrace(new PrintWriter(trace))
            b.log("ERROR: unexpected ${trace}")
            b.worsen('FAILURE')
        }
        b.log("Finished: ${b.currentResult}")
        new File(b.dir, 'log.txt').setText(b.logText, 'UTF-8')
        return b
    }

    private Map<String, String> environment(StandInBuild b, Map extra) {
        Map<String, String> env = [
            PATH: System.getenv('PATH'), HOME: System.getenv('HOME') ?: '/root',
            LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'UTC', CI: 'true',
            JENKINS_URL: JENKINS_URL, JOB_NAME: job, JOB_BASE_NAME: job,
            BUILD_NUMBER: "${b.number}", BUILD_ID: "${b.number}", BUILD_TAG: "jenkins-${job}-${b.number}",
            BUILD_URL: "${JENKINS_URL}job/${job}/${b.number}/", EXECUTOR_NUMBER: '0', NODE_NAME: 'built-in',
            WORKSPACE: b.workspace.path, GIT_COMMIT: '4f2a9c1e0b7d3a5c6e8f9a0b1c2d3e4f5a6b7c8d',
            GIT_BRANCH: 'origin/main',
        ].collectEntries { k, v -> [(k): v.toString()] }
        extra.each { k, v -> env[k.toString()] = v.toString() }
        return env
    }

}
