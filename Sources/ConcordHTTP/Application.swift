import ConcordCore
import ConcordStore
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Everything the HTTP application needs from outside; the executable builds it, the tests build it too.
public struct AppContext: Sendable {
    public var client: PostgresClient
    public var store: EventStore
    public var migrator: Migrator

    public init(client: PostgresClient, store: EventStore, migrator: Migrator) {
        self.client = client
        self.store = store
        self.migrator = migrator
    }
}

/// Builds the whole service: the router and the services it runs (the PostgreSQL client, then the event store, so
/// that on shutdown the server stops first, the store drains its pending appends, and the client closes last).
public func buildApplication(
    _ context: AppContext, host: String = "127.0.0.1", port: Int = 8080, logger: Logger
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: RequestLogMiddleware())
    HealthController(context: context).addRoutes(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "concord"),
        services: [context.client, context.store],
        logger: logger)
}

/// `/healthz`: the process is up. `/readyz`: the database answers and every migration is applied unchanged.
struct HealthController: Sendable {
    let context: AppContext

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            guard await self.context.migrator.isCurrent(self.context.client) else {
                return Problem(
                    status: .serviceUnavailable, title: "Not ready",
                    detail: "the database is unreachable or its migrations are not current"
                ).response()
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
    }
}
