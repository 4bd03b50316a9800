/**
 * Classes that break the boundary rules on purpose: {@code ArchitectureRulesTest} imports them
 * to show each rule of {@link io.torus.testing.arch.BoundaryRules} refusing them. Test code
 * only; never imported by the checks of production classes.
 */
package io.torus.archfixture;
