package io.septum.view;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An aligned text table: UPPERCASE headers, no borders, three spaces between columns. A cell may hold several
 * lines (as Cilium prints one label per line); the row then takes several lines.
 */
public final class Table {
    private final List<String> headers;
    private final List<List<String>> rows = new ArrayList<>();

    public Table(String... headers) {
        this.headers = Arrays.asList(headers);
    }

    public Table row(Object... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, table has " + headers.size() + " columns");
        }
        List<String> r = new ArrayList<>(cells.length);
        for (Object c : cells) r.add(c == null ? "" : String.valueOf(c));
        rows.add(r);
        return this;
    }

    public int size() {
        return rows.size();
    }

    public String render() {
        int n = headers.size();
        int[] width = new int[n];
        for (int i = 0; i < n; i++) width[i] = headers.get(i).length();
        for (List<String> r : rows) {
            for (int i = 0; i < n; i++) {
                for (String line : r.get(i).split("\n", -1)) width[i] = Math.max(width[i], line.length());
            }
        }
        StringBuilder out = new StringBuilder();
        appendLine(out, headers, width);
        for (List<String> r : rows) {
            String[][] cells = new String[n][];
            int height = 1;
            for (int i = 0; i < n; i++) {
                cells[i] = r.get(i).split("\n", -1);
                height = Math.max(height, cells[i].length);
            }
            for (int line = 0; line < height; line++) {
                List<String> parts = new ArrayList<>(n);
                for (int i = 0; i < n; i++) parts.add(line < cells[i].length ? cells[i][line] : "");
                appendLine(out, parts, width);
            }
        }
        return out.toString();
    }

    private static void appendLine(StringBuilder out, List<String> cells, int[] width) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i);
            line.append(c);
            if (i < cells.size() - 1) line.append(" ".repeat(width[i] - c.length() + 3));
        }
        int end = line.length();
        while (end > 0 && line.charAt(end - 1) == ' ') end--;
        out.append(line, 0, end).append('\n');
    }

    @Override
    public String toString() {
        return render();
    }
}
