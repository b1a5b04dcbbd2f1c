/**
 * The agent's status in one place, in the manner of Felix systemready: a component that sees every service
 * (each optional) and every {@code HealthReporter} (whiteboard), and assembles the {@code AgentStatus} that
 * {@code /v1/status}, the CLI's {@code septum status} and the console's {@code status} print. Nothing here is
 * exported; the REST API only calls {@code AgentStatusService}.
 */
package io.septum.status.internal;
