/**
 * The local identity allocator: it gives every label set a number that stays the same across agent restarts, by
 * keeping the label-set-to-number table in {@code identities.json} under the state directory. Nothing here is
 * exported; other bundles use {@link io.septum.api.IdentityAllocator}.
 */
package io.septum.identity.internal;
