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
    /// The reference data, loaded from the log and kept current.
    public var reference: ReferenceFollower
    /// Public tracking lookups per client address per minute.
    public var trackingLimit: Int

    public init(
        client: PostgresClient, store: EventStore, migrator: Migrator, tokens: TokenStore, reference: ReferenceFollower,
        trackingLimit: Int = 60
    ) {
        self.client = client
        self.store = store
        self.migrator = migrator
        self.tokens = tokens
        self.reference = reference
        self.trackingLimit = trackingLimit
    }
}

/// Builds the whole service: the router and the services it runs (the PostgreSQL client, the event store, the
/// reference data follower; on shutdown the server stops first, the store drains its pending appends, and the
/// client closes last).
public func buildApplication(
    _ context: AppContext, host: String = "127.0.0.1", port: Int = 8080, logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: ConcordRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: AuthenticationMiddleware(tokens: context.tokens))
    HealthController(context: context).addRoutes(to: router)
    DocumentController().addRoutes(to: router)
    var complaints = CaseController(
        repository: CaseRepository<Complaint>(store: context.store), reference: context.reference,
        collection: "complaints", creation: .lodge, trackingKind: .complaint)
    complaints.afterCommand = AppealOpener(appeals: CaseRepository<Appeal>(store: context.store)).open
    complaints.addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Appeal>(store: context.store), reference: context.reference, collection: "appeals",
        creation: .lodge,
        trackingKind: .appeal
    ).addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Referral>(store: context.store), reference: context.reference,
        collection: "referrals", creation: .create,
        trackingKind: .referral
    ).addRoutes(to: router)
    TrackingController(store: context.store, limiter: RateLimiter(capacity: context.trackingLimit)).addRoutes(
        to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "concord"),
        services: [context.client, context.store, context.reference],
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
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
    }
}
