package io.septum.source.libvirt.internal;

import io.septum.api.NamedPort;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * What Septum reads from a domain's XML ({@code virsh dumpxml}): name, UUID, the interfaces with their host-side
 * device and guest MAC, addresses the XML itself declares ({@code <interface><ip address=.../>}, as the LXC driver
 * configures them), and the Septum metadata element:
 *
 * <pre>{@code
 * <metadata>
 *   <septum:endpoint xmlns:septum="https://septum.io/libvirt/1">
 *     <septum:label key="app">web</septum:label>
 *     <septum:address>192.0.2.10</septum:address>
 *     <septum:port name="http" protocol="tcp">8080</septum:port>
 *   </septum:endpoint>
 * </metadata>
 * }</pre>
 *
 * <p>libvirt keeps one metadata element per namespace, so everything Septum reads sits in that one element; its local
 * name is free ({@code labels} works as well) and its children are matched by local name whatever their prefix.
 * A {@code <septum:port>} declares a named port (protocol TCP when absent), which policies may name.
 */
record DomainXml(String name, String uuid, List<Nic> interfaces, Map<String, String> labels, List<String> addresses,
                 List<NamedPort> ports) {
    static final String NS = "https://septum.io/libvirt/1";

    /** One {@code <interface>}: host-side device ({@code <target dev>}, null until the domain runs), guest MAC. */
    record Nic(String dev, String mac, List<String> addresses) {
    }

    static DomainXml parse(String xml) throws IOException {
        Document doc;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            doc = b.parse(new InputSource(new StringReader(xml)));
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException("domain XML: " + e.getMessage(), e);
        }
        Element root = doc.getDocumentElement();
        if (!"domain".equals(root.getLocalName())) {
            throw new IOException("domain XML: root element is <" + root.getLocalName() + ">, not <domain>");
        }
        String name = text(child(root, "name"));
        String uuid = text(child(root, "uuid"));
        if (name == null || name.isBlank()) throw new IOException("domain XML: <name> is missing");
        List<Nic> nics = new ArrayList<>();
        Element devices = child(root, "devices");
        if (devices != null) {
            for (Element i : children(devices, "interface")) {
                Element target = child(i, "target");
                Element mac = child(i, "mac");
                List<String> ips = new ArrayList<>();
                for (Element ip : children(i, "ip")) {
                    String a = ip.getAttribute("address");
                    if (!a.isBlank()) ips.add(a.trim());
                }
                nics.add(new Nic(target == null || target.getAttribute("dev").isBlank() ? null : target.getAttribute("dev"),
                        mac == null || mac.getAttribute("address").isBlank() ? null
                                : mac.getAttribute("address").toLowerCase(java.util.Locale.ROOT),
                        List.copyOf(ips)));
            }
        }
        Map<String, String> labels = new LinkedHashMap<>();
        List<String> addresses = new ArrayList<>();
        List<NamedPort> ports = new ArrayList<>();
        Element metadata = child(root, "metadata");
        if (metadata != null) {
            for (Node n = metadata.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (!(n instanceof Element e) || !NS.equals(e.getNamespaceURI())) continue;
                for (Node c = e.getFirstChild(); c != null; c = c.getNextSibling()) {
                    if (!(c instanceof Element item)) continue;
                    if ("label".equals(item.getLocalName())) {
                        String key = item.getAttribute("key").trim();
                        if (key.isEmpty()) {
                            throw new IOException("domain " + name + ": metadata <label> without a key attribute");
                        }
                        labels.put(key, text(item) == null ? "" : text(item).trim());
                    } else if ("port".equals(item.getLocalName())) {
                        ports.add(port(name, item, ports));
                    } else if ("address".equals(item.getLocalName()) && text(item) != null && !text(item).isBlank()) {
                        addresses.add(text(item).trim());
                    }
                }
            }
        }
        return new DomainXml(name, uuid, List.copyOf(nics), Map.copyOf(labels), List.copyOf(addresses),
                List.copyOf(ports));
    }

    /** {@code <septum:port name="http" protocol="tcp">8080</septum:port>}; a bad one refuses the domain, saying why. */
    private static NamedPort port(String domain, Element item, List<NamedPort> before) throws IOException {
        String portName = item.getAttribute("name").trim();
        String protocol = item.getAttribute("protocol").trim();
        String where = "domain " + domain + ": metadata <port name=\"" + portName + "\">";
        if (portName.isEmpty()) throw new IOException("domain " + domain + ": metadata <port> without a name attribute");
        NamedPort p;
        try {
            p = NamedPort.parse(portName, (text(item) == null ? "" : text(item).trim())
                    + (protocol.isEmpty() ? "" : "/" + protocol));
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage(), e);
        }
        if (!NamedPort.lookup(before, p.name(), p.protocol()).isEmpty()) {
            throw new IOException(where + ": the name is already a " + p.protocol() + " port");
        }
        return p;
    }

    private static Element child(Element parent, String local) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && local.equals(e.getLocalName()) && e.getNamespaceURI() == null) return e;
        }
        return null;
    }

    private static List<Element> children(Element parent, String local) {
        List<Element> out = new ArrayList<>();
        NodeList all = parent.getChildNodes();
        for (int i = 0; i < all.getLength(); i++) {
            if (all.item(i) instanceof Element e && local.equals(e.getLocalName()) && e.getNamespaceURI() == null) out.add(e);
        }
        return out;
    }

    private static String text(Element e) {
        return e == null ? null : e.getTextContent();
    }
}
