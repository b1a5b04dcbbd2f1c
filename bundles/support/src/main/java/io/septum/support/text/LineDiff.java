package io.septum.support.text;

import java.util.ArrayList;
import java.util.List;

/**
 * A line diff of two short documents (policies: tens to hundreds of lines), from their longest common subsequence:
 * every line once, prefixed {@code "-"} (only in the old), {@code "+"} (only in the new) or {@code " "} (both), in
 * document order. Quadratic in the line counts, which is fine at that size; inputs over {@link #MAX_LINES} lines
 * are shown as a whole removal and addition.
 */
public final class LineDiff {
    public static final int MAX_LINES = 2000;

    private LineDiff() {
    }

    public static List<String> unified(List<String> old, List<String> now) {
        List<String> out = new ArrayList<>();
        if (old.size() > MAX_LINES || now.size() > MAX_LINES) {
            old.forEach(l -> out.add("-" + l));
            now.forEach(l -> out.add("+" + l));
            return out;
        }
        int n = old.size();
        int m = now.size();
        // lcs[i][j]: the common subsequence's length of old[i..] and now[j..]
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = old.get(i).equals(now.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        int i = 0;
        int j = 0;
        while (i < n && j < m) {
            if (old.get(i).equals(now.get(j))) {
                out.add(" " + old.get(i++));
                j++;
            } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
                out.add("-" + old.get(i++));
            } else {
                out.add("+" + now.get(j++));
            }
        }
        while (i < n) out.add("-" + old.get(i++));
        while (j < m) out.add("+" + now.get(j++));
        return out;
    }
}
