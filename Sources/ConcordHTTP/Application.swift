import ConcordCore
import ConcordProjections
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
    /// Where command times, due times and "overdue" come from.
    public var clock: WallClock
    /// Whether this process takes part in running the projections (one process at a time holds the lease).
    public var runsProjections: Bool
    /// How often a process without the projection lease tries to take it.
    public var projectionLeaseRetry: Duration
    /// Signs the log's head at an interval (by the process holding the projection lease); nil: no checkpoints.
    public var checkpoints: CheckpointSchedule?
    /// Seals personal data on append and opens it for the roles that may read it.
    public var vault: PersonalDataVault
    /// `/readyz` answers 503 once an appended event has waited longer than this for the projection.
    public var projectionStallThreshold: Duration

    public init(
        client: PostgresClient, store: EventStore, migrator: Migrator, tokens: TokenStore, reference: ReferenceFollower,
        vault: PersonalDataVault, trackingLimit: Int = 60, clock: WallClock = .system, runsProjections: Bool = true,
        projectionLeaseRetry: Duration = .seconds(1), checkpoints: CheckpointSchedule? = nil,
        projectionStallThreshold: Duration = .seconds(30)
    ) {
        self.projectionStallThreshold = projectionStallThreshold
        self.checkpoints = checkpoints
        self.vault = vault
        self.clock = clock
        self.runsProjections = runsProjections
        self.projectionLeaseRetry = projectionLeaseRetry
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
    let queries = ProjectionQueries(client: context.client, logger: logger)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: AuthenticationMiddleware(tokens: context.tokens))
    HealthController(context: context, queries: queries).addRoutes(to: router)
    DocumentController().addRoutes(to: router)
    var complaints = CaseController(
        repository: CaseRepository<Complaint>(store: context.store, vault: context.vault), reference: context.reference,
        collection: "complaints", creation: .lodge, trackingKind: .complaint, clock: context.clock)
    complaints.afterCommand =
        AppealOpener(appeals: CaseRepository<Appeal>(store: context.store, vault: context.vault)).open
    complaints.addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Appeal>(store: context.store, vault: context.vault), reference: context.reference,
        collection: "appeals",
        creation: .lodge, trackingKind: .appeal, clock: context.clock
    ).addRoutes(to: router)
    CaseController(
        repository: CaseRepository<Referral>(store: context.store, vault: context.vault), reference: context.reference,
        collection: "referrals", creation: .create, trackingKind: .referral, clock: context.clock
    ).addRoutes(to: router)
    ProjectionController(queries: queries, reference: context.reference, clock: context.clock).addRoutes(to: router)
    AuditController(store: context.store).addRoutes(to: router)
    SubjectController(
        subjects: DataSubjects(store: context.store, client: context.client, logger: logger), clock: context.clock
    )
    .addRoutes(to: router)
    TrackingController(store: context.store, limiter: RateLimiter(capacity: context.trackingLimit)).addRoutes(
        to: router)
    var services: [any Service] = [context.client, context.store, context.reference]
    if context.runsProjections {
        let escalator = OverdueEscalator(
            client: context.client, store: context.store, clock: context.clock, logger: logger)
        services.append(
            ProjectionRunner(
                client: context.client, store: context.store, escalator: escalator, logger: logger,
                leaseRetry: context.projectionLeaseRetry, checkpoints: context.checkpoints))
    }
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "concord"),
        services: services,
        logger: logger)
}

/// `/healthz`: the process is up. `/readyz`: the database answers, every migration is applied unchanged and the
/// projection is not stalled (see `Readiness`); its body also says how far the projections are behind the log.
/// `/metrics`: Prometheus text with the projection lag and the append counters.
struct HealthController: Sendable {
    let context: AppContext
    let queries: ProjectionQueries

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            await Readiness(context: self.context, queries: self.queries).response()
        }
        router.get("metrics") { _, _ -> Response in
            let queries = self.queries
            let lag = try await withDatabaseDeadline(.seconds(2)) { try await queries.lag() }
            let statistics = self.context.store.statistics.snapshot
            let text = """
                # HELP concord_projection_events_behind Events in the log not yet applied by the projection.
                # TYPE concord_projection_events_behind gauge
                concord_projection_events_behind{projection="\(lag.name)"} \(lag.eventsBehind)
                # HELP concord_projection_seconds_behind Age of the oldest event the projection has not applied.
                # TYPE concord_projection_seconds_behind gauge
                concord_projection_seconds_behind{projection="\(lag.name)"} \(String(format: "%.6f", lag.secondsBehind))
                # HELP concord_projection_checkpoint Position the projection has applied the log up to.
                # TYPE concord_projection_checkpoint gauge
                concord_projection_checkpoint{projection="\(lag.name)"} \(lag.checkpoint)
                # HELP concord_log_head_position The last position of the event log.
                # TYPE concord_log_head_position gauge
                concord_log_head_position \(lag.head)
                # HELP concord_append_batches_total Group-commit batches this process committed.
                # TYPE concord_append_batches_total counter
                concord_append_batches_total \(statistics.batches)
                # HELP concord_appended_events_total Events this process appended.
                # TYPE concord_appended_events_total counter
                concord_appended_events_total \(statistics.events)

                """
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
