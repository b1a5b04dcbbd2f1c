package io.septum.support.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LineDiffTest {
    @Test
    void keepsCommonLinesInOrder() {
        assertEquals(List.of(" a", "-b", "+x", " c", "+d"), LineDiff.unified(List.of("a", "b", "c"), List.of("a", "x", "c", "d")));
        assertEquals(List.of(" a"), LineDiff.unified(List.of("a"), List.of("a")));
        assertEquals(List.of("+a"), LineDiff.unified(List.of(), List.of("a")));
        assertEquals(List.of("-a"), LineDiff.unified(List.of("a"), List.of()));
    }

    /** Whatever the inputs, the old side is the " " and "-" lines and the new side the " " and "+" lines, in order. */
    @Test
    void bothSidesCanBeReadBackFromTheDiff() {
        Random r = new Random(7);
        for (int n = 0; n < 500; n++) {
            List<String> a = random(r);
            List<String> b = random(r);
            List<String> d = LineDiff.unified(a, b);
            List<String> old = new ArrayList<>();
            List<String> now = new ArrayList<>();
            for (String line : d) {
                if (!line.startsWith("+")) old.add(line.substring(1));
                if (!line.startsWith("-")) now.add(line.substring(1));
            }
            assertEquals(a, old, d.toString());
            assertEquals(b, now, d.toString());
        }
    }

    private static List<String> random(Random r) {
        List<String> out = new ArrayList<>();
        int len = r.nextInt(8);
        for (int i = 0; i < len; i++) out.add(String.valueOf((char) ('a' + r.nextInt(4))));
        return out;
    }
}
