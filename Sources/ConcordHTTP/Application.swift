import ConcordCore
import ConcordOutbox
import ConcordPartners
import ConcordProjections
import ConcordStore
import ConcordWeb
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
    /// The registry `/metrics` renders. Give the store the same one's factory for its append figures to show.
    public var metrics: ConcordMetrics
    /// `/readyz` answers 503 once an appended event has waited longer than this for the projection.
    public var projectionStallThreshold: Duration
    /// bcrypt's cost, session expiry, and how failed sign-ins slow and lock a login.
    public var signIn = SignInSettings()
    /// The SMS gateway and what it needs (`CONCORD_SMS_*`); nil: nothing is sent and SMS callbacks are refused.
    public var sms: SMSSettings? = nil
    /// Webhook retries, timeouts and when a failing subscriber is disabled.
    public var webhooks = WebhookSettings()
    /// The read-only server (`DATABASE_READ_URL`) for audit reads that tolerate staleness; nil: they read the primary.
    public var readReplica: ReadReplica? = nil

    public init(
        client: PostgresClient, store: EventStore, migrator: Migrator, tokens: TokenStore, reference: ReferenceFollower,
        vault: PersonalDataVault, trackingLimit: Int = 60, clock: WallClock = .system, runsProjections: Bool = true,
        projectionLeaseRetry: Duration = .seconds(1), checkpoints: CheckpointSchedule? = nil,
        metrics: ConcordMetrics = ConcordMetrics(), projectionStallThreshold: Duration = .seconds(30)
    ) {
        self.metrics = metrics
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
    _ context: AppContext, host: String = "127.0.0.1", port: Int = 8080, logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let tokenCache = TokenCache()
    let router = buildRouter(context, logger: logger, tokenCache: tokenCache)
    var services: [any Service] = [
        NamedService("postgres client", context.client, logger: logger),
        NamedService("event store", context.store, logger: logger),
        NamedService("reference data follower", context.reference, logger: logger),
        NamedService(
            "token revocations", TokenRevocations(client: context.client, cache: tokenCache, logger: logger),
            logger: logger),
    ]
    if let replica = context.readReplica {
        services.append(NamedService("read replica client", replica.client, logger: logger))
    }
    if context.runsProjections {
        let escalator = OverdueEscalator(
            client: context.client, store: context.store, clock: context.clock, logger: logger,
            metrics: context.metrics.factory)
        let runner = ProjectionRunner(
            client: context.client, store: context.store, escalator: escalator, logger: logger,
            leaseRetry: context.projectionLeaseRetry, checkpoints: context.checkpoints)
        services.append(NamedService("projection runner", runner, logger: logger))
        // The outbox's sender runs under the projection's lease: one sender across nodes.
        if let outbox = context.outbox(logger: logger) {
            services.append(
                NamedService(
                    "outbox",
                    OutboxService(
                        outbox: outbox, store: context.store, isLeader: { runner.isLeader },
                        ready: { [reference = context.reference] in await reference.ready() }, logger: logger),
                    logger: logger))
        }
        services.append(
            NamedService(
                "webhook dispatcher", webhookDispatcher(context, logger: logger) { runner.isLeader }, logger: logger))
    }
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "concord"),
        services: services,
        onServerRunning: onServerRunning,
        logger: logger)
}

/// The router with every route and middleware of the service. Tokens are cached in `tokenCache`, trusted while a
/// `TokenRevocations` service listens for their revocations. Without `answering405`, its `routes` are exactly what
/// the API documents (the 405 answers are routes of their own).
public func buildRouter(
    _ context: AppContext, logger: Logger, tokenCache: TokenCache = TokenCache(), answering405: Bool = true
) -> Router<ConcordRequestContext> {
    // HEAD is answered wherever GET is, from the GET handler, without its body.
    let router = Router(context: ConcordRequestContext.self, options: [.autoGenerateHeadEndpoints])
    let queries = ProjectionQueries(client: context.client, logger: logger)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(metrics: context.metrics))
    router.add(middleware: ResponseHeadersMiddleware())
    router.add(middleware: ErrorMiddleware())
    // Tokens are cached while their revocations are listened for (one round trip less per request).
    let users = UserStore(client: context.client, logger: logger, bcryptCost: context.signIn.bcryptCost)
    let sessions = SessionStore(client: context.client, logger: logger, settings: context.signIn)
    router.add(
        middleware: AuthenticationMiddleware(
            credentials: Credentials(tokens: context.tokens, sessions: sessions).caching(in: tokenCache)))
    HealthController(context: context, queries: queries).addRoutes(to: router)
    MetricsController(metrics: context.metrics, queries: queries).addRoutes(to: router)
    DocumentController().addRoutes(to: router)
    let reference = context.reference
    SessionController(sessions: sessions).addRoutes(to: router)
    UserController(users: users, reference: reference).addRoutes(to: router)
    ReferenceController(reference: reference).addRoutes(to: router)
    CaseController(
        commands: CaseCommands<Complaint>(
            store: context.store, vault: context.vault, reference: reference.data, users: users),
        reference: reference, collection: "complaints", clock: context.clock
    ).addRoutes(to: router)
    CaseController(
        commands: CaseCommands<Appeal>(
            store: context.store, vault: context.vault, reference: reference.data, users: users),
        reference: reference, collection: "appeals", clock: context.clock
    ).addRoutes(to: router)
    CaseController(
        commands: CaseCommands<Referral>(
            store: context.store, vault: context.vault, reference: reference.data, users: users),
        reference: reference, collection: "referrals", clock: context.clock
    ).addRoutes(to: router)
    ProjectionController(queries: queries, reference: context.reference, clock: context.clock, lookup: context.vault)
        .addRoutes(to: router)
    AuditController(store: context.store, client: context.client, logger: logger, replica: context.readReplica)
        .addRoutes(to: router)
    SubjectController(
        subjects: DataSubjects(store: context.store, client: context.client, logger: logger), clock: context.clock
    )
    .addRoutes(to: router)
    let limiter = RateLimiter(capacity: context.trackingLimit, clock: context.clock, metrics: context.metrics.factory)
    TrackingController(store: context.store, limiter: limiter).addRoutes(to: router)
    SMSController(
        settings: context.sms, outbox: context.outbox(logger: logger),
        complaints: CaseCommands<Complaint>(store: context.store, vault: context.vault, reference: reference.data),
        reference: reference, store: context.store, clock: context.clock, logger: logger
    ).addRoutes(to: router)
    addPartnerRoutes(context, users: users, logger: logger, to: router)
    // The web workspace's pages (ConcordWeb renders them); a template that does not parse leaves them out, loudly.
    do {
        let web = WebController(
            sessions: sessions,
            complaints: CaseCommands<Complaint>(
                store: context.store, vault: context.vault, reference: reference.data, users: users),
            reference: reference, queries: queries, store: context.store, limiter: limiter, clock: context.clock,
            renderer: try WebRenderer())
        // Before the pages: a page's 403 (a failed CSRF check, a page the role may not open) is an HTML page.
        router.add(middleware: WebForbiddenPage(web: web))
        web.addRoutes(to: router)
        WebCoordinator(web: web).addRoutes(to: router)
        WebDashboard(web: web).addRoutes(to: router)
        WebAdmin(web: web, users: users, tokens: context.tokens).addRoutes(to: router)
    } catch {
        logger.critical("the web pages are off: a template does not parse", metadata: ["error": "\(error)"])
    }
    if answering405 { router.answerOtherMethodsWith405() }
    return router
}

/// `/healthz`: the process is up. `/readyz`: the database answers, every migration is applied unchanged and the
/// projection is not stalled (see `Readiness`); its body also says how far the projections are behind the log.
/// (`/metrics` is `MetricsController`'s.)
struct HealthController: Sendable {
    let context: AppContext
    let queries: ProjectionQueries

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            await Readiness(context: self.context, queries: self.queries).response()
        }
    }
}

extension AppContext {
    /// The outbox over this context's database and gateway; nil without SMS settings.
    func outbox(logger: Logger) -> Outbox? {
        self.sms.map {
            Outbox(
                client: self.client, store: self.store, vault: self.vault, reference: self.reference.data,
                settings: $0, logger: logger, metrics: self.metrics.factory)
        }
    }
}
