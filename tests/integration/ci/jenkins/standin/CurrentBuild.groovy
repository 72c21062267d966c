// `currentBuild` in the stand-in for the Jenkins pipeline DSL (Jenkins cannot run
// here): result is null while nothing went wrong, and can only get worse.
class CurrentBuild {

    private final StandInBuild owner

    CurrentBuild(StandInBuild owner) {
        this.owner = owner
    }

    String getResult() {
        return owner.result
    }

    void setResult(String result) {
        owner.worsen(result)
    }

    String getCurrentResult() {
        return owner.currentResult
    }

    /** As RunWrapper.getBuildCauses(className): the causes as maps (userId, userName…). */
    List<Map> getBuildCauses(String className) {
        if (owner.startedBy && className == 'hudson.model.Cause$UserIdCause') {
            return [[_class: className, userId: owner.startedBy, userName: owner.startedBy,
                     shortDescription: "Started by user ${owner.startedBy}".toString()]]
        }
        return []
    }

    int getNumber() {
        return owner.number
    }

}
