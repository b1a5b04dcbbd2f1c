package io.septum.apiserver.internal;

import io.septum.api.service.Service;
import io.septum.api.service.ServiceManager;
import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;

/** {@code /v1/services}: kept apart from {@link ApiRoutes} so that the routes of other features merge cleanly. */
final class ServiceRoutes {
    private ServiceRoutes() {
    }

    /** 201 with the service as resolved; 400 naming the field when refused (nothing changed). */
    static HttpResponse upsert(Backend backend, ServiceSpec spec, ApiRoutes routes) {
        if (spec == null) {
            throw new HttpException(400, "body must be {\"name\": ..., \"namespace\": ..., \"frontend\": \"IP:PORT[/tcp]\", \"backends\": [...]}");
        }
        try {
            return routes.json(201, backend.serviceManager().upsert(spec));
        } catch (ServiceValidationException e) {
            throw new HttpException(400, e.getMessage());
        }
    }

    static Service service(Backend backend, String idOrName) {
        return backend.serviceManager().get(idOrName).orElseThrow(() -> new HttpException(404,
                "no service \"" + idOrName + "\" (see 'septum service list'; use an id, namespace/name or a name in default)"));
    }

    static void delete(Backend backend, String idOrName) {
        ServiceManager sm = backend.serviceManager();
        Service s = service(backend, idOrName);
        if (!sm.delete(s.qualifiedName())) throw new HttpException(404, "no service \"" + idOrName + "\"");
    }
}
