/**
 * The tables and text layouts that the shell and the CLI both print, built from the API's model objects, so that
 * {@code endpoint:list} in the shell and {@code septum endpoint list} look alike (and {@link io.septum.view.EvalJson},
 * the one JSON shape of a test case's results). Not part of the contract between
 * bundles: the CLI and the lab use this jar from {@code lib/}, and the shell bundle carries a private copy of the
 * package (bnd {@code -conditionalpackage}), so no bundle imports it.
 */
package io.septum.view;
