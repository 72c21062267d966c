package io.shipgate.jenkins

import com.cloudbees.groovy.cps.NonCPS

/**
 * Runs one shipgate command for a step of this library (vars/shipgate*.groovy).
 *
 * The step builds its part of the command line from its parameters with option(),
 * repeated() and friends, then calls run(). run() executes shipgate with `sh`,
 * always publishes the JUnit, JSON and Markdown files it wrote, and turns the exit
 * code into the build result (docs/exit-codes.md):
 *   0 SUCCESS; 1 onFail (FAILURE or UNSTABLE); 2 onInconclusive (FAILURE or UNSTABLE);
 *   3, 4, 5, 130 and anything else FAILURE, with shipgate's headline in the message.
 *
 * Every word of the command line is quoted for the shell, so nothing a user passes is
 * evaluated by it. Methods marked @NonCPS only compute values; the others call
 * pipeline steps and must stay CPS-transformed.
 */
class Runner implements Serializable {

    /** Parameters every step takes. */
    static final List<String> COMMON = ['shipgate', 'outDir', 'name', 'args', 'secretEnv',
                                        'publishJunit', 'onFail', 'onInconclusive']
    static final String DEFAULT_OUT_DIR = 'shipgate-out'
    static final List<String> RESULTS = ['FAILURE', 'UNSTABLE']

    private static final long serialVersionUID = 1L

    /** The pipeline script: its steps (sh, junit, error…) and globals (env). */
    private final Object steps
    /** The library step's name, e.g. shipgateDeploy, for messages. */
    private final String stepName
    private final Map args
    /** Mistakes in the parameters, reported together by check() or run(). */
    private final List<String> problems = []

    Runner(Object steps, String stepName, Map args, List<String> known) {
        this.steps = steps
        this.stepName = stepName
        this.args = args ?: [:]
        checkKnown(known)
    }

    /** Exit code -> [result, verdict, meaning]. */
    @NonCPS
    static Map outcome(int code, String onFail, String onInconclusive) {
        switch (code) {
            case 0: return [result: 'SUCCESS', verdict: 'pass', meaning: 'success']
            case 1: return [result: onFail, verdict: 'fail', meaning: 'negative verdict']
            case 2: return [result: onInconclusive, verdict: 'inconclusive', meaning: 'inconclusive or invalid input']
            case 3: return [result: 'FAILURE', verdict: 'fail', meaning: 'runtime failure']
            case 4: return [result: 'FAILURE', verdict: 'fail', meaning: 'refused by policy']
            case 5: return [result: 'FAILURE', verdict: 'fail', meaning: 'rollback failed: a person is needed now']
            case 130: return [result: 'FAILURE', verdict: 'fail', meaning: 'interrupted']
            case 126:
            case 127:
                return [result: 'FAILURE', verdict: 'fail',
                        meaning: 'shipgate could not be started: set the shipgate parameter or SHIPGATE_BIN']
            default: return [result: 'FAILURE', verdict: 'fail', meaning: 'not a shipgate exit code']
        }
    }

    /** A list parameter: a List, or text with one item per line (each line trimmed, blank ones skipped). */
    @NonCPS
    static List<String> lines(Object v) {
        List<String> items = []
        if (v == null) {
            return items
        }
        Object[] raw = v instanceof Collection ? ((Collection) v).toArray() : v.toString().split('\n')
        for (Object item : raw) {
            String text = item == null ? '' : item.toString().trim()
            if (!text.isEmpty()) {
                items << text
            }
        }
        return items
    }

    /** One word for sh: in single quotes, each ' written as '\'' . */
    @NonCPS
    static String shellQuote(String word) {
        return "'" + word.replace("'", "'\\''") + "'"
    }

    @NonCPS
    static String shellWords(List<String> words) {
        List<String> quoted = []
        for (String word : words) {
            quoted << shellQuote(word)
        }
        return quoted.join(' ')
    }

    /** A parameter as text; null when absent or empty. */
    @NonCPS
    String value(String key) {
        Object v = args[key]
        String text = v == null ? '' : v.toString()
        return text.isEmpty() ? null : text
    }

    /** A parameter that must be given; a missing one is reported by check(). */
    @NonCPS
    String required(String key) {
        String v = value(key)
        if (v == null) {
            problems << "parameter '${key}' is required".toString()
        }
        return v
    }

    /** true when the parameter is true or 'true'. */
    @NonCPS
    boolean flag(String key) {
        Object v = args[key]
        return v == true || (v != null && v.toString() == 'true')
    }

    /** [FLAG, value] when the parameter is given, [] otherwise. */
    @NonCPS
    List<String> option(String flagName, String key, boolean isRequired = false) {
        String v = isRequired ? required(key) : value(key)
        return v == null ? [] : [flagName, v]
    }

    /** [FLAG] when the parameter is true. */
    @NonCPS
    List<String> switchOption(String flagName, String key) {
        return flag(key) ? [flagName] : []
    }

    /** FLAG before each item of a list parameter (a List, or text with one item per line). */
    @NonCPS
    List<String> repeated(String flagName, String key, boolean isRequired = false) {
        List<String> items = lines(args[key])
        if (isRequired && items.isEmpty()) {
            problems << "parameter '${key}' is required (a list, or one item per line)".toString()
        }
        List<String> argv = []
        for (String item : items) {
            argv << flagName
            argv << item
        }
        return argv
    }

    /** FLAG NAME=VALUE for each entry of a Map parameter (or of NAME=VALUE lines). */
    @NonCPS
    List<String> assignments(String flagName, String key) {
        Object v = args[key]
        List<String> items = []
        if (v instanceof Map) {
            for (Object entry : ((Map) v).entrySet()) {
                Map.Entry e = (Map.Entry) entry
                items << "${e.key}=${e.value == null ? '' : e.value}".toString()
            }
        } else {
            items = lines(v)
        }
        List<String> argv = []
        for (String item : items) {
            if (!item.contains('=')) {
                problems << "parameter '${key}': '${item}' is not NAME=VALUE".toString()
            }
            argv << flagName
            argv << item
        }
        return argv
    }

    /** Records a mistake found by the step itself (e.g. a parameter that needs another one). */
    @NonCPS
    void problem(String text) {
        problems << text
    }

    /** The path of an output file of this step: OUT_DIR/NAME followed by suffix. */
    @NonCPS
    String outputPath(String command, String environment, String suffix) {
        return "${outDir()}/${outputName(command, environment)}${suffix}".toString()
    }

    /** Fails the build with every parameter mistake found so far. */
    void check() {
        if (!problems.isEmpty()) {
            steps.error("${stepName}: ${problems.join('; ')}")
        }
    }

    /**
     * Runs `shipgate COMMAND --ci jenkins STEP_ARGV --json/--junit/--markdown … ARGS`,
     * publishes the outputs, maps the exit code and returns
     * [exitCode, result, verdict, headline, name, json, junit, markdown, outDir].
     * extraJunit: more JUnit files the step asked shipgate to write (published too).
     * (No default arguments here: Jenkins runs this method CPS-transformed.)
     */
    Map run(String command, String environment, List<String> stepArgv, List<String> extraJunit) {
        String executable = value('shipgate') ?: (steps.env.SHIPGATE_BIN ?: 'shipgate')
        Map out = prepare(executable, command, environment, stepArgv, extraJunit, startedBy())
        check()
        int code = -1
        try {
            code = steps.sh(returnStatus: true, label: "shipgate ${out.name}", script: out.script)
        } finally {
            publish(out.junitFiles, out.dir)
        }
        Map json = readResult(out.json)
        Map outcome = outcome(code, out.onFail, out.onInconclusive)
        String headline = json.headline
        Map result = [exitCode: code, result: outcome.result, verdict: json.verdict ?: outcome.verdict,
                      headline: headline, name: out.name, json: out.json, junit: out.junit,
                      markdown: out.markdown, outDir: out.dir]
        String message = message(command, code, outcome.meaning, headline, out.markdown)
        if (outcome.result == 'UNSTABLE') {
            steps.unstable(message)
        } else if (outcome.result == 'FAILURE') {
            steps.error(message)
        }
        return result
    }

    /** Removes this step's old outputs (a stale file must never pass for this run's), then runs shipgate. */
    @NonCPS
    private static String script(List<String> files, List<String> argv) {
        return "rm -f -- ${shellWords(files)}\n${shellWords(argv)}\n".toString()
    }

    @NonCPS
    private static String message(String command, int code, String meaning, String headline, String markdown) {
        String text = "shipgate ${command}: ${meaning} (exit ${code})"
        return (headline ? "${text}: ${headline}" : "${text}; details in ${markdown}").toString()
    }

    @NonCPS
    private static String textOrNull(Object v) {
        return v instanceof CharSequence ? v.toString() : null
    }

    /** JUnit to the test results (the exit code alone decides the build result), everything to the archive. */
    private void publish(List<String> junitFiles, String dir) {
        if (!(args.publishJunit == false || value('publishJunit') == 'false')) {
            steps.junit(testResults: junitFiles.join(', '), allowEmptyResults: true,
                        skipMarkingBuildUnstable: true)
        }
        steps.archiveArtifacts(artifacts: "${dir}/**", allowEmptyArchive: true, fingerprint: true)
    }

    /**
     * The Jenkins user who started the build, for shipgate's --user: the plan's
     * `self_approval: false` needs to know who triggers a deploy, and Jenkins sets no
     * variable for it (BUILD_USER_ID comes from a plugin; shipgate reads it itself).
     * null for builds started by SCM, a timer or an upstream job.
     */
    private String startedBy() {
        if (steps.env.BUILD_USER_ID) {
            return null
        }
        try {
            List causes = steps.currentBuild.getBuildCauses('hudson.model.Cause$UserIdCause')
            return causes ? textOrNull(causes[0].userId) : null
        } catch (Exception ignored) {
            return null   // a Jenkins without getBuildCauses, or a sandbox that refuses it
        }
    }

    /**
     * verdict and headline of the JSON result. readJSON comes from the Pipeline Utility
     * Steps plugin; without it the message names the exit code's meaning and the Markdown file.
     */
    private Map readResult(String path) {
        if (!steps.fileExists(path)) {
            return [:]
        }
        try {
            Object json = steps.readJSON(file: path)
            return [headline: textOrNull(json.headline), verdict: textOrNull(json.verdict)]
        } catch (NoSuchMethodError ignored) {
            return [:]
        }
    }

    /**
     * Everything run() needs, computed without running anything: output paths, the
     * command line and the sh script. Mistakes go to problems.
     */
    @NonCPS
    private Map prepare(String executable, String command, String environment,
                        List<String> stepArgv, List<String> extraJunit, String user) {
        String dir = outDir()
        String name = outputName(command, environment)
        if (dir.startsWith('/') || ('/' + dir + '/').contains('/../')) {
            problems << "outDir '${dir}' must be a folder inside the workspace".toString()
        }
        if (!(name ==~ /[A-Za-z0-9_-][A-Za-z0-9._-]*/)) {
            problems << "output name '${name}' may only hold letters, digits, '.', '_' and '-'".toString()
        }
        String base = "${dir}/${name}"
        Map out = [dir: dir, name: name, json: "${base}.json".toString(),
                   junit: "${base}.junit.xml".toString(), markdown: "${base}.md".toString(),
                   onFail: resultChoice('onFail'), onInconclusive: resultChoice('onInconclusive')]
        out.junitFiles = [out.junit] + extraJunit
        List<String> argv = [executable, command, '--ci', 'jenkins']
        argv.addAll(stepArgv)
        argv.addAll(['--json', out.json, '--junit', out.junit, '--markdown', out.markdown])
        for (String secret : lines(args.secretEnv)) {
            if (!(secret ==~ /[A-Za-z_][A-Za-z0-9_]*/)) {
                problems << "secretEnv: '${secret}' is not an environment variable name".toString()
            }
            argv.addAll(['--secret-env', secret])
        }
        List<String> extra = lines(args.args)
        boolean userGiven = false
        for (String word : extra) {
            userGiven = userGiven || word == '--user' || word.startsWith('--user=')
        }
        if (user && !userGiven) {
            argv.addAll(['--user', user])
        }
        argv.addAll(extra)
        out.script = script([out.json, out.markdown] + out.junitFiles, argv)
        return out
    }

    @NonCPS
    private void checkKnown(List<String> known) {
        List<String> allowed = COMMON + known
        for (Object key : args.keySet()) {
            if (!allowed.contains(key.toString())) {
                problems << "unknown parameter '${key}' (known: ${allowed.sort().join(', ')})".toString()
            }
        }
    }

    @NonCPS
    private String resultChoice(String key) {
        String v = value(key) ?: 'FAILURE'
        if (!RESULTS.contains(v)) {
            problems << "parameter '${key}' must be 'FAILURE' or 'UNSTABLE', not '${v}'".toString()
        }
        return v
    }

    @NonCPS
    private String outDir() {
        String dir = value('outDir') ?: DEFAULT_OUT_DIR
        while (dir.endsWith('/') && dir.length() > 1) {
            dir = dir.substring(0, dir.length() - 1)
        }
        return dir
    }

    @NonCPS
    private String outputName(String command, String environment) {
        return value('name') ?: (environment ? "${command}-${environment}" : command).toString()
    }

}
