package io.septum.api;

/** One ipcache entry: an IP prefix ({@code 10.0.0.5/32}) and the identity of whatever holds it. */
public record IpcacheEntry(String prefix, long identity, String source) {
}
