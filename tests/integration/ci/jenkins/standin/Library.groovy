import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

// Stand-in for Jenkins' @Library annotation (Jenkins cannot run here): a Jenkinsfile's
// `@Library('shipgate@v1') _` line compiles; the dry run loads the library from the
// checkout itself.
@Retention(RetentionPolicy.SOURCE)
@interface Library {
    String[] value()
}
