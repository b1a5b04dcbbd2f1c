package io.septum.shell.internal;

import io.septum.api.service.Service;
import io.septum.api.service.ServiceManager;
import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;
import io.septum.view.Views;
import java.util.ArrayList;
import java.util.List;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code service:list|get|add|delete}, printing the same table as {@code septum service list}. */
@Component(service = ServiceCommands.class)
@GogoCommand(scope = "service", function = {"list", "get", "add", "delete"})
public final class ServiceCommands extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ServiceManager services;

    private ServiceManager manager() {
        return need(services, "the service manager (bundle septum-services)");
    }

    /** One service, in the table of {@code service:list}. */
    private static Object view(Service s) {
        return Views.services(List.of(s));
    }

    @Descriptor("List services: ID, frontend, type and backends")
    public void list(@Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        print(output, manager().list(), Views::services);
    }

    @Descriptor("Show one service")
    public void get(@Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("id, namespace/name or a name in default") String idOrName) {
        print(output, manager().get(idOrName).orElseThrow(() -> new ShellException("no service \"" + idOrName + "\" (see 'service:list')")),
                ServiceCommands::view);
    }

    @Descriptor("Add a service, or replace the one of that name: service:add --frontend IP:PORT[/tcp] NAME BACKEND...")
    public void add(@Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output,
            @Descriptor("namespace (default: default)") @Parameter(names = {"-n", "--namespace"}, absentValue = "") String namespace,
            @Descriptor("virtual IP and port, IP:PORT or IP:PORT/udp") @Parameter(names = {"--frontend"}, absentValue = "") String frontend,
            @Descriptor("service name") String name,
            @Descriptor("backends: endpoint, namespace/endpoint or IP, each with an optional :PORT (comma-separated also)") String... backends) {
        List<String> list = new ArrayList<>();
        for (String b : backends) for (String part : b.split(",")) if (!part.isBlank()) list.add(part.trim());
        try {
            print(output, manager().upsert(new ServiceSpec(name, blank(namespace) ? null : namespace, frontend, list)),
                    ServiceCommands::view);
        } catch (ServiceValidationException e) {
            throw new ShellException(e.getMessage());
        }
    }

    @Descriptor("Delete a service")
    public void delete(@Descriptor("id, namespace/name or a name in default") String idOrName) {
        if (!manager().delete(idOrName)) throw new ShellException("no service \"" + idOrName + "\" (see 'service:list')");
        out().println("Deleted service " + idOrName);
        out().flush();
    }
}
