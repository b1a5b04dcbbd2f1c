/**
 * Pax Exam tests of the assembled container: Felix with the distribution's bundle set, each test class in its own
 * framework with fresh state, run and BPF pin directories, checking that the agent's services and commands come up.
 */
package io.septum.itests.osgi;
