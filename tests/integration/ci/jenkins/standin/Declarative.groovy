// Stand-in for Declarative Pipeline (Jenkins cannot run here): runs a
// `pipeline { }` block the way Jenkins does for the directives the shipgate
// Jenkinsfiles use:
//   agent, options (lock and timeout on a stage, anything else recorded),
//   parameters (string, booleanParam: defaults unless the build was given a value),
//   environment (pipeline and stage level, evaluated in order),
//   stages/stage/steps (in order; after a failure the remaining stages are skipped),
//   post (pipeline and stage level: always, changed, fixed, regression, aborted,
//   failure, success, unstable, unsuccessful, cleanup, in Jenkins' order).
// Not modelled: when, input and agent on a stage, parallel, matrix, triggers, tools.
class Declarative {

    static final List<String> POST_ORDER = ['always', 'changed', 'fixed', 'regression', 'aborted',
                                            'failure', 'success', 'unstable', 'unsuccessful', 'cleanup']

    static void run(PipelineScript script, Closure body) {
        StandInBuild b = script.standInBuild()
        PipelineSpec spec = new PipelineSpec(build: b)
        evaluate(body, spec)
        boolean failed = false
        for (StageSpec stage : spec.stageList) {
            if (failed) {
                b.log("Stage \"${stage.stageName}\" skipped due to earlier failure(s)")
                continue
            }
            failed = !runStage(script, b, stage)
        }
        runPost(b, spec.post, null)
    }

    /** Runs a directive's block with the spec as its delegate. */
    static Object evaluate(Closure body, Object delegate) {
        Closure c = body.rehydrate(delegate, body.owner, body.thisObject)
        c.resolveStrategy = Closure.DELEGATE_FIRST
        return c.call()
    }

    /** true when the stage succeeded; a failure is logged and recorded in the build. */
    private static boolean runStage(PipelineScript script, StandInBuild b, StageSpec stage) {
        b.stages << stage.stageName
        b.log("[Pipeline] stage\n[Pipeline] { (${stage.stageName})")
        String failure = null
        Map<String, String> overlay = [:]
        b.overlays << overlay
        try {
            stage.environment.each { Closure value -> value.call(overlay) }
            Closure steps = stage.locks.reverse().inject(stage.steps) { Closure inner, String resource ->
                return { -> script.lock(resource, inner) }
            }
            steps.call()
        } catch (PipelineError e) {
            failure = e.result
            b.log("ERROR: ${e.message}")
        } catch (MissingMethodException | MissingPropertyException e) {
            failure = 'FAILURE'
            b.log("ERROR: ${e.message}")
        }
        if (failure) {
            b.worsen(failure)
        }
        runPost(b, stage.post, failure)
        b.overlays.remove(overlay)
        b.log('[Pipeline] }')
        return failure == null
    }

    /** Runs the post conditions that hold; a failing condition block fails the build. */
    private static void runPost(StandInBuild b, Map<String, Closure> post, String stageFailure) {
        String result = stageFailure ?: b.currentResult
        Map<String, Boolean> holds = [always: true, changed: false, fixed: false, regression: false,
                                      aborted: result == 'ABORTED', failure: result == 'FAILURE',
                                      success: result == 'SUCCESS', unstable: result == 'UNSTABLE',
                                      unsuccessful: result != 'SUCCESS', cleanup: true]
        for (String condition : POST_ORDER) {
            if (post[condition] != null && holds[condition]) {
                b.log("[Pipeline] post (${condition})")
                try {
                    post[condition].call()
                } catch (PipelineError e) {
                    b.log("ERROR: ${e.message}")
                    b.worsen(e.result)
                }
            }
        }
    }

}

class PipelineSpec {

    StandInBuild build
    List<StageSpec> stageList = []
    Map<String, Closure> post = [:]
    List<String> optionNames = []

    String getAny() { return 'any' }

    String getNone() { return 'none' }

    void agent(Object ignored) { }

    void options(Closure body) {
        OptionsSpec spec = new OptionsSpec()
        Declarative.evaluate(body, spec)
        optionNames.addAll(spec.names)
    }

    void parameters(Closure body) {
        Declarative.evaluate(body, new ParametersSpec(build: build))
    }

    void environment(Closure body) {
        Declarative.evaluate(body, new EnvironmentSpec(build: build, target: build.env))
    }

    void stages(Closure body) {
        StagesSpec spec = new StagesSpec(build: build)
        Declarative.evaluate(body, spec)
        stageList.addAll(spec.stageList)
    }

    void post(Closure body) {
        Declarative.evaluate(body, new PostSpec(conditions: post))
    }

}

class StagesSpec {

    StandInBuild build
    List<StageSpec> stageList = []

    void stage(String name, Closure body) {
        StageSpec spec = new StageSpec(stageName: name, build: build)
        Declarative.evaluate(body, spec)
        stageList << spec
    }

}

class StageSpec {

    String stageName
    StandInBuild build
    Closure steps = { -> }
    List<String> locks = []
    List<Closure> environment = []
    Map<String, Closure> post = [:]

    void options(Closure body) {
        OptionsSpec spec = new OptionsSpec()
        Declarative.evaluate(body, spec)
        locks.addAll(spec.locks)
    }

    void environment(Closure body) {
        environment << { Map<String, String> overlay ->
            Declarative.evaluate(body, new EnvironmentSpec(build: build, target: overlay))
        }
    }

    void steps(Closure body) {
        steps = body
    }

    void post(Closure body) {
        Declarative.evaluate(body, new PostSpec(conditions: post))
    }

}

class OptionsSpec {

    List<String> names = []
    List<String> locks = []

    Object methodMissing(String name, Object args) {
        names << name
        Object[] values = args as Object[]
        if (name == 'lock' && values.length > 0) {
            locks << (values[0] instanceof Map ? values[0].resource : values[0]).toString()
        }
        return name
    }

}

class ParametersSpec {

    StandInBuild build

    void string(Map args) {
        define(args)
    }

    void text(Map args) {
        define(args)
    }

    void booleanParam(Map args) {
        define(args)
    }

    private void define(Map args) {
        if (!build.params.containsKey(args.name)) {
            build.params[args.name] = args.defaultValue
        }
    }

}

/** NAME = value assignments; values may use params, env and the names set before. */
class EnvironmentSpec {

    StandInBuild build
    Map<String, String> target

    Object propertyMissing(String name) {
        if (name == 'params') {
            return build.params
        }
        if (name == 'env') {
            return new EnvView(build)
        }
        Map<String, String> all = build.effectiveEnv()
        all.putAll(target)
        if (!all.containsKey(name)) {
            throw new MissingPropertyException(name, EnvironmentSpec)
        }
        return all[name]
    }

    void propertyMissing(String name, Object value) {
        target[name] = value?.toString()
    }

}

class PostSpec {

    Map<String, Closure> conditions

    Object methodMissing(String name, Object args) {
        Object[] values = args as Object[]
        if (!Declarative.POST_ORDER.contains(name) || values.length != 1 || !(values[0] instanceof Closure)) {
            throw new MissingMethodException(name, PostSpec, values)
        }
        conditions[name] = (Closure) values[0]
        return null
    }

}
