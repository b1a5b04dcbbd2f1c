package io.septum.api.ui;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Opens web UI sessions for callers someone else has authorised: the REST API checks that its caller may change
 * the agent (root or the admin group), then asks for a link, as {@code jupyter} prints a URL with a token. The
 * link works once and for a few minutes; the session it opens changes policy on behalf of {@code author}, and every
 * change it makes is recorded with that author.
 */
@ProviderType
public interface UiLogin {
    /**
     * A one-time link that opens a session acting for {@code author} (as the policy history names it, e.g.
     * {@code uid 0 (root)}).
     *
     * @throws IllegalStateException when the web UI is not served (disabled, or not listening yet)
     */
    UiLoginLink login(String author);
}
