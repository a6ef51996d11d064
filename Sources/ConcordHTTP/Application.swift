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
    public var tokens: TokenStore
    /// Public tracking lookups per client address per minute.
    public var trackingLimit: Int

    public init(
        client: PostgresClient, store: EventStore, migrator: Migrator, tokens: TokenStore, trackingLimit: Int = 60
    ) {
        self.client = client
        self.store = store
        self.migrator = migrator
        self.tokens = tokens
        self.trackingLimit = trackingLimit
    }
}

/// Builds the whole service: the router and the services it runs (the PostgreSQL client, then the event store, so
/// that on shutdown the server stops first, the store drains its pending appends, and the client closes last).
public func buildApplication(
    _ context: AppContext, host: String = "127.0.0.1", port: Int = 8080, logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: ConcordRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: AuthenticationMiddleware(tokens: context.tokens))
    HealthController(context: context).addRoutes(to: router)
    DocumentController().addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Complaint>(store: context.store), collection: "complaints", creation: .lodge,
        trackingKind: .complaint
    ).addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Appeal>(store: context.store), collection: "appeals", creation: .lodge,
        trackingKind: .appeal
    ).addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Referral>(store: context.store), collection: "referrals", creation: .create,
        trackingKind: .referral
    ).addRoutes(to: router)
    TrackingController(store: context.store, limiter: RateLimiter(capacity: context.trackingLimit)).addRoutes(
        to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "concord"),
        services: [context.client, context.store],
        logger: logger)
}

/// `/healthz`: the process is up. `/readyz`: the database answers and every migration is applied unchanged.
struct HealthController: Sendable {
    let context: AppContext

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let (migrator, client) = (self.context.migrator, self.context.client)
            let current = (try? await withDatabaseDeadline(.seconds(2)) { await migrator.isCurrent(client) }) ?? false
            guard current else {
                return Problem(
                    status: .serviceUnavailable, title: "Not ready",
                    detail: "the database is unreachable or its migrations are not current"
                ).response()
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
    }
}
