package com.cloudbees.groovy.cps

import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target

// Stand-in for Jenkins' @NonCPS marker (Jenkins cannot run here), so that library
// code written for Jenkins compiles unchanged. Plain Groovy runs every method the
// same way, so the marker has no effect in the dry run.
@Retention(RetentionPolicy.RUNTIME)
@Target([ElementType.METHOD, ElementType.CONSTRUCTOR])
@interface NonCPS { }
