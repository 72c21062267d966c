// `env` in the stand-in for the Jenkins pipeline DSL (Jenkins cannot run here):
// env.NAME reads the build's environment with the withEnv/withCredentials overlays,
// env.NAME = value sets it for the rest of the build, as in Jenkins.
class EnvView extends GroovyObjectSupport {

    private final StandInBuild owner

    EnvView(StandInBuild owner) {
        this.owner = owner
    }

    @Override
    Object getProperty(String name) {
        return owner.effectiveEnv()[name]
    }

    @Override
    void setProperty(String name, Object value) {
        owner.env[name] = value?.toString()
    }

    Object getAt(String name) {
        return getProperty(name)
    }

    void putAt(String name, Object value) {
        setProperty(name, value)
    }

}
