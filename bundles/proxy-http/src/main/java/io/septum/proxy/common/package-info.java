/** What the agent's proxies (HTTP and DNS) share: how they name the two sides of what they judge. */
package io.septum.proxy.common;
