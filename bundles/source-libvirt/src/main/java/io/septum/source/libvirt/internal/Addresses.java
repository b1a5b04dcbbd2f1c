package io.septum.source.libvirt.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A domain's addresses from what the host knows about its MACs, for domains whose XML declares none: the DHCP leases
 * of libvirt's own networks (dnsmasq's {@code <bridge>.status} files, JSON) and the kernel's IPv4 neighbour table.
 * libvirt-java 0.5.2 has no binding for {@code virDomainInterfaceAddresses}, so the guest agent is not asked; a
 * domain without leases or neighbour entries declares its address in its Septum metadata instead.
 */
final class Addresses {
    private final Path leaseDir;
    private final Path arpTable;
    private final ObjectMapper json = new ObjectMapper();

    Addresses(Path leaseDir, Path arpTable) {
        this.leaseDir = leaseDir;
        this.arpTable = arpTable;
    }

    /** Addresses leased to, or seen from, any of these (lowercase) MACs, leases first. */
    List<String> of(Set<String> macs) {
        Set<String> out = new LinkedHashSet<>();
        if (macs.isEmpty()) return List.of();
        if (Files.isDirectory(leaseDir)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(leaseDir, "*.status")) {
                for (Path f : files) {
                    try {
                        JsonNode leases = json.readTree(f.toFile());
                        for (JsonNode l : leases) {
                            String mac = l.path("mac-address").asText("").toLowerCase(Locale.ROOT);
                            String ip = l.path("ip-address").asText("");
                            if (macs.contains(mac) && !ip.isEmpty()) out.add(ip);
                        }
                    } catch (IOException e) {
                        // dnsmasq rewrites the file while we read it, or it is empty: the next poll reads it again.
                    }
                }
            } catch (IOException e) {
                // No leases readable: other sources still count.
            }
        }
        try {
            List<String> lines = Files.readAllLines(arpTable);
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                // IP address, HW type, Flags, HW address, Mask, Device; flags 0x0 is an incomplete entry.
                if (f.length >= 4 && !"0x0".equals(f[2]) && macs.contains(f[3].toLowerCase(Locale.ROOT))) out.add(f[0]);
            }
        } catch (IOException e) {
            // No neighbour table (not Linux?): nothing from it.
        }
        return new ArrayList<>(out);
    }
}
