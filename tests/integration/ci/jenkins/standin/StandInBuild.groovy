// One build in the stand-in for the Jenkins pipeline DSL (Jenkins cannot run here):
// its workspace, environment, console log, result, and a record of what its steps
// did (published JUnit files, archived artifacts, inputs asked, locks taken).
class StandInBuild {

    /** Jenkins' Result order: a result only ever gets worse. */
    static final List<String> ORDER = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']

    String name
    int number
    File dir
    File workspace
    File archive
    long startedAt = System.currentTimeMillis()

    /** The build's environment (env.X); withEnv/withCredentials add overlays on top. */
    Map<String, String> env = [:]
    List<Map<String, String>> overlays = []
    Map params = [:]
    Map<String, String> credentials = [:]
    /** Scripted answers to `input`, in order: [approver: NAME, PARAM: value...] or [abort: true]. */
    List<Map> answers = []
    /** The user who started the build (a UserIdCause); null: started by SCM or a timer. */
    String startedBy
    /** false: behave as a Jenkins without the Pipeline Utility Steps plugin. */
    boolean readJsonAvailable = true

    String result = null
    StringBuilder console = new StringBuilder()
    Map<String, Object> vars = [:]
    Object returned

    List<Map> shCalls = []
    List<Map> junitCalls = []
    /** Copies of the JUnit files the junit step read, kept in the build folder. */
    List<File> junitFiles = []
    List<Map> archiveCalls = []
    List<String> archived = []
    List<Map> inputCalls = []
    List<String> locks = []
    List<String> stages = []

    void log(String text) {
        console.append(text)
        if (!text.endsWith('\n')) {
            console.append('\n')
        }
    }

    void worsen(String to) {
        if (ORDER.indexOf(to) > ORDER.indexOf(currentResult)) {
            result = to
        }
    }

    String getCurrentResult() {
        return result ?: 'SUCCESS'
    }

    Map<String, String> effectiveEnv() {
        Map<String, String> all = new LinkedHashMap<String, String>(env)
        for (Map<String, String> overlay : overlays) {
            all.putAll(overlay)
        }
        return all
    }

    File file(String path) {
        File f = new File(path)
        return f.absolute ? f : new File(workspace, path)
    }

    String getLogText() {
        return console.toString()
    }

}
