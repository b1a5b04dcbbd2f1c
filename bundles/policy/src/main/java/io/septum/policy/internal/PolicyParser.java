package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.policy.ValidationError;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Turns YAML text into compiled policies, collecting every error of every document instead of stopping at the
 * first, so that one run of {@code policy validate} shows the user everything to fix.
 *
 * <p>This class is the entry: it splits the YAML stream into documents at {@code ---} and {@code ...} (by hand, so
 * that a syntax error in one document does not hide the others and each policy keeps its own text), reports syntax
 * errors with the line in the file, opens {@code List} documents ({@code kind: List} or
 * {@code CiliumNetworkPolicyList} etc. with {@code items}), and hands each document by {@code apiVersion} and
 * {@code kind} to its schema's reader:
 * <pre>{@code
 * apiVersion: cilium.io/v2
 * kind: CiliumNetworkPolicy   # -> CiliumPolicyReader (also CiliumClusterwideNetworkPolicy)
 * ---
 * apiVersion: networking.k8s.io/v1
 * kind: NetworkPolicy         # -> K8sPolicyReader
 * ---
 * apiVersion: cilium.io/v2alpha1
 * kind: CiliumCIDRGroup       # -> CidrGroupReader
 * }</pre>
 * The readers share {@link MetadataReader}, {@link SelectorReader}, {@link CidrReader}, {@link PortReader} and
 * ({@link CiliumPolicyReader} only) {@link HttpRuleReader}; every error goes to the document's {@link Diagnostics}.
 * A document with any error yields no policy and its errors; {@link PolicyEngineImpl#parse} then takes all or nothing:
 * one error anywhere in the input rejects the whole input.
 */
final class PolicyParser {
    private static final String CILIUM_API = "cilium.io/v2";
    private static final String K8S_API = "networking.k8s.io/v1";
    private static final Pattern DOC_START = Pattern.compile("^---(\\s.*)?$");
    private static final Pattern DOC_END = Pattern.compile("^\\.\\.\\.\\s*$");

    private final YAMLMapper mapper;

    PolicyParser(YAMLMapper mapper) {
        this.mapper = mapper;
    }

    static YAMLMapper newMapper() {
        YAMLMapper m = new YAMLMapper();
        m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return m;
    }

    /** One YAML document's text and the line (1-based) where it starts in the file. */
    record Chunk(String text, int firstLine) {
    }

    /**
     * Splits a YAML stream at its document markers. Done by hand so that each policy keeps the exact text the
     * user wrote and a syntax error in one document does not hide the errors of the others.
     */
    static List<Chunk> split(String text) {
        List<Chunk> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        StringBuilder cur = new StringBuilder();
        int start = 1;
        boolean explicitStart = false;
        int n = lines.length > 0 && lines[lines.length - 1].isEmpty() ? lines.length - 1 : lines.length;
        for (int i = 0; i < n; i++) {
            String line = lines[i];
            boolean start2 = DOC_START.matcher(line).matches();
            boolean end = DOC_END.matcher(line).matches();
            if (start2 || end) {
                // a comment-only prologue before the first "---" is not a document of its own
                if (!(out.isEmpty() && !explicitStart && isBlank(cur.toString()))) out.add(new Chunk(cur.toString(), start));
                cur.setLength(0);
                explicitStart = true;
                if (start2) {
                    String rest = line.substring(3).trim();
                    if (rest.isEmpty()) {
                        start = i + 2;
                    } else {
                        // "--- {a: 1}": the document begins on the marker's own line
                        start = i + 1;
                        cur.append(rest).append('\n');
                    }
                } else {
                    start = i + 2;
                }
                continue;
            }
            cur.append(line).append('\n');
        }
        out.add(new Chunk(cur.toString(), start));
        return out;
    }

    private static boolean isBlank(String chunk) {
        for (String l : chunk.split("\n")) {
            String t = l.trim();
            if (!t.isEmpty() && !t.startsWith("#")) return false;
        }
        return true;
    }

    List<CompiledPolicy> parse(String origin, String text, List<ValidationError> errors) {
        List<CompiledPolicy> out = new ArrayList<>();
        if (text == null) return out;
        List<Chunk> chunks = split(text);
        for (int i = 0; i < chunks.size(); i++) {
            Chunk c = chunks.get(i);
            Diagnostics diag = new Diagnostics(origin, i + 1, errors);
            if (isBlank(c.text())) continue;
            JsonNode doc;
            try {
                doc = mapper.readTree(c.text());
            } catch (JsonProcessingException e) {
                diag.error("", syntaxError(e, c.firstLine()));
                continue;
            } catch (RuntimeException e) {
                diag.error("", "cannot read YAML: " + e.getMessage());
                continue;
            }
            if (doc == null || doc.isMissingNode() || doc.isNull()) continue;
            document(diag, doc, "", c.text(), out);
        }
        return out;
    }

    static String syntaxError(JsonProcessingException e, int firstLine) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m && m.getProblemMark() != null) {
                String reason = (m.getContext() == null ? "" : m.getContext() + ": ")
                        + (m.getProblem() == null ? "" : m.getProblem());
                return "YAML syntax error at line " + (m.getProblemMark().getLine() + firstLine) + ", column "
                        + (m.getProblemMark().getColumn() + 1) + ": " + reason.replaceAll("\\s+", " ").trim();
            }
        }
        JsonLocation loc = e.getLocation();
        String problem = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        problem = problem.replaceAll("\\s+", " ").trim();
        if (loc != null && loc.getLineNr() > 0) {
            return "YAML syntax error at line " + (loc.getLineNr() + firstLine - 1) + ", column " + loc.getColumnNr()
                    + ": " + problem;
        }
        return "YAML syntax error (line unknown): " + problem;
    }

    private void document(Diagnostics diag, JsonNode doc, String prefix, String text, List<CompiledPolicy> out) {
        if (!doc.isObject()) {
            diag.error(prefix, "expected a mapping with apiVersion and kind, found " + nodeType(doc));
            return;
        }
        String apiVersion = text(doc.get("apiVersion"));
        String kind = text(doc.get("kind"));
        diag.kind = kind;
        diag.policy = policyName(doc.get("metadata"), kind);
        if (kind == null || kind.isEmpty()) {
            diag.error(join(prefix, "kind"), "missing kind (expected CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, "
                    + "NetworkPolicy, CiliumCIDRGroup or a List of them)");
            return;
        }
        if (kind.endsWith("List") && doc.has("items")) {
            list(diag, doc, prefix, kind, apiVersion, out);
            return;
        }
        if (apiVersion == null || apiVersion.isEmpty()) {
            diag.error(join(prefix, "apiVersion"), "missing apiVersion (expected " + CILIUM_API + " or " + K8S_API + ")");
            return;
        }
        switch (kind) {
            case CompiledPolicy.CNP, CompiledPolicy.CCNP -> {
                if (!CILIUM_API.equals(apiVersion)) {
                    diag.error(join(prefix, "apiVersion"), "unsupported apiVersion \"" + apiVersion + "\" for " + kind
                            + " (expected " + CILIUM_API + ")");
                    return;
                }
                CiliumPolicyReader.read(diag, (ObjectNode) doc, prefix, kind, text, out);
            }
            case CompiledPolicy.KNP -> {
                if (!K8S_API.equals(apiVersion)) {
                    diag.error(join(prefix, "apiVersion"), "unsupported apiVersion \"" + apiVersion + "\" for " + kind
                            + " (expected " + K8S_API + ")");
                    return;
                }
                K8sPolicyReader.read(diag, (ObjectNode) doc, prefix, text, out);
            }
            case CompiledPolicy.CIDR_GROUP -> {
                if (!CILIUM_API.equals(apiVersion) && !CidrGroupReader.V2ALPHA1.equals(apiVersion)) {
                    diag.error(join(prefix, "apiVersion"), "unsupported apiVersion \"" + apiVersion + "\" for " + kind
                            + " (expected " + CidrGroupReader.V2ALPHA1 + " or " + CILIUM_API + ")");
                    return;
                }
                CidrGroupReader.read(diag, (ObjectNode) doc, prefix, text, out);
            }
            default -> diag.error(join(prefix, "kind"), "unknown kind \"" + kind + "\" with apiVersion \"" + apiVersion
                    + "\" (expected " + CompiledPolicy.CNP + " or " + CompiledPolicy.CCNP + " (" + CILIUM_API + "), "
                    + CompiledPolicy.KNP + " (" + K8S_API + "), " + CompiledPolicy.CIDR_GROUP + " ("
                    + CidrGroupReader.V2ALPHA1 + "), or a List of them)");
        }
    }

    private void list(Diagnostics diag, JsonNode doc, String prefix, String kind, String apiVersion, List<CompiledPolicy> out) {
        JsonNode items = doc.get("items");
        if (items.isNull()) return;
        if (!items.isArray()) {
            diag.error(join(prefix, "items"), "expected a list of policies, found " + nodeType(items));
            return;
        }
        String itemKind = kind.equals("List") ? null : kind.substring(0, kind.length() - 4);
        for (int i = 0; i < items.size(); i++) {
            JsonNode item = items.get(i);
            String p = join(prefix, "items[" + i + "]");
            if (item.isObject() && itemKind != null) {
                ObjectNode o = ((ObjectNode) item).deepCopy();
                if (!o.has("kind")) o.put("kind", itemKind);
                if (!o.has("apiVersion") && apiVersion != null) o.put("apiVersion", apiVersion);
                item = o;
            }
            String itemText;
            try {
                itemText = mapper.writeValueAsString(item);
            } catch (JsonProcessingException e) {
                itemText = item.toString();
            }
            Diagnostics itemDiag = diag.forListItem();
            document(itemDiag, item, p, itemText, out);
        }
    }

    private static String policyName(JsonNode md, String kind) {
        if (md == null || !md.isObject()) return null;
        String name = text(md.get("name"));
        if (name == null) return null;
        if (CompiledPolicy.CCNP.equals(kind) || CompiledPolicy.CIDR_GROUP.equals(kind)) return name;
        String ns = text(md.get("namespace"));
        return (ns == null || ns.isEmpty() ? "default" : ns) + "/" + name;
    }
}
