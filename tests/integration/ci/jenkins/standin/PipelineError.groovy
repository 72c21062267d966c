// What the stand-in's `error` step and failing steps throw (Jenkins throws
// hudson.AbortException): the build ends with `result` and the message is logged
// as "ERROR: message", without a stack trace.
class PipelineError extends RuntimeException {

    final String result

    PipelineError(String message, String result = 'FAILURE') {
        super(message)
        this.result = result
    }

}
