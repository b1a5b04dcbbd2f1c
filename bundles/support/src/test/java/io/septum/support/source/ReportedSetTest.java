package io.septum.support.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReportedSetTest {
    record Item(String id, String value) {
    }

    private final ReportedSet<Item> set = new ReportedSet<>(Item::id);

    @Test
    void onlyAChangeIsDueForAnUpsert() {
        assertTrue(set.update(new Item("a", "1")), "new");
        assertFalse(set.update(new Item("a", "1")), "the same again");
        assertTrue(set.update(new Item("a", "2")), "changed");
        assertEquals(new Item("a", "2"), set.get("a"));
        assertEquals(1, set.size());
    }

    @Test
    void onlyWhatWasReportedIsDueForARemoval() {
        set.update(new Item("a", "1"));
        assertTrue(set.remove("a"));
        assertFalse(set.remove("a"), "removed already");
        assertFalse(set.remove("never"));
        assertTrue(set.update(new Item("a", "1")), "reported afresh after its removal");
    }

    @Test
    void aFullListingForgetsWhatItNoLongerShows() {
        set.update(new Item("a", "1"));
        set.update(new Item("b", "1"));
        set.update(new Item("c", "1"));
        set.retainAll(List.of("b", "z"));
        assertFalse(set.contains("a"));
        assertTrue(set.contains("b"));
        assertFalse(set.contains("z"), "a live id never reported is not made up");
        assertEquals(1, set.size());
        assertTrue(set.update(new Item("a", "1")), "a forgotten item is due again");
    }

    @Test
    void removeIfNamesWhatItRemoved() {
        set.update(new Item("a", "x"));
        set.update(new Item("b", "y"));
        set.update(new Item("c", "x"));
        List<String> removed = set.removeIf((id, item) -> item.value().equals("x"));
        assertEquals(List.of("a", "c"), removed.stream().sorted().toList());
        assertEquals(1, set.size());
        assertNull(set.get("a"));
        set.clear();
        assertEquals(0, set.size());
    }
}
