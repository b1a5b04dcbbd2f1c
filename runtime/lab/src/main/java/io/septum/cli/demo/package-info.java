/**
 * {@code septum demo starwars}: the seed's Star Wars demo (deathstars, a tiefighter and an xwing) on real
 * network-namespace endpoints, printed step by step as a person would type it, against the running agent.
 */
package io.septum.cli.demo;
