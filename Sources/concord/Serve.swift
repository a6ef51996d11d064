import ArgumentParser
import ConcordCore
import ConcordHTTP
import ConcordOutbox
import ConcordPartners
import ConcordProjections
import ConcordStore
import Foundation
import Hummingbird
import CoreMetrics
import Logging
import PostgresNIO
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Migrate the database and serve the HTTP API (private PostgreSQL cluster unless DATABASE_URL is set)."
    )

    @Option(help: "Address to bind (env CONCORD_HOST).")
    var host: String = ProcessInfo.processInfo.environment["CONCORD_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to bind (env CONCORD_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["CONCORD_PORT"] ?? "") ?? 8080

    func run() async throws {
        let logger = makeLogger("concord")
        // Settings first: a start without its keys stops before touching the database.
        let master = try failingNow {
            try PersonalDataVault.masterKey(environment: ProcessInfo.processInfo.environment)
        }
        let checkpoints = try Self.checkpointSchedule()
        let signIn = try failingNow { try SignInSettings.from(environment: ProcessInfo.processInfo.environment) }
        let sms = try failingNow { try SMSSettings.from(environment: ProcessInfo.processInfo.environment) }
        let readConfiguration = try failingNow {
            try DatabaseSettings.readConfiguration(fromEnvironment: ProcessInfo.processInfo.environment)
        }
        let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
        defer { bootstrap.stopClusterIfStarted() }
        let migrator = Migrator(migrations: try Migration.bundled(), logger: logger)
        try await failing { _ = try await bootstrap.migrate(logger: logger) }
        var service = bootstrap.settings.service
        // Names this process in pg_stat_activity: an operator (or a test) sees which node holds the projection lease.
        service.options.additionalStartupParameters.append(("application_name", "concord serve \(getpid())"))
        let client = PostgresClient(configuration: service, backgroundLogger: logger)
        // One registry for the process: `/metrics` renders it, and it backs swift-metrics for every library too.
        let metrics = ConcordMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        let store = EventStore(client: client, logger: logger, metrics: metrics.factory)
        let vault = PersonalDataVault(client: client, master: master, logger: logger)
        try await failing {
            try await PostgresClient.withRunning(bootstrap.settings.service, logger: logger) { probeClient in
                try await vault.checkMasterKey(using: probeClient)
            }
        }
        var context = AppContext(
            client: client, store: store, migrator: migrator, tokens: TokenStore(client: client, logger: logger),
            reference: ReferenceFollower(store: store, logger: logger), vault: vault, checkpoints: checkpoints,
            metrics: metrics, projectionStallThreshold: try Self.stallThreshold())
        context.signIn = signIn
        context.sms = sms
        if var read = readConfiguration {
            read.options.additionalStartupParameters.append(("application_name", "concord serve \(getpid()) reads"))
            context.readReplica = ReadReplica(
                client: PostgresClient(configuration: read, backgroundLogger: logger), logger: logger)
        }
        context.webhooks = try failingNow { try WebhookSettings.from(environment: ProcessInfo.processInfo.environment) }
        let app = buildApplication(context, host: self.host, port: self.port, logger: logger)
        try await Self.runUntilStopped(
            [
                NamedService("http application", app, logger: logger),
                NamedService(
                    "pool watch", PoolWatch(client: client, configuration: service, logger: logger), logger: logger),
            ], logger: logger)
    }

    /// Runs the application (and the pool's watch) until SIGTERM or SIGINT. Graceful shutdown (the server stops
    /// taking requests, queued appends are committed or refused, connections close) gets `shutdownGrace`; what is
    /// still running then is cancelled, so the process always exits. A service that ends by itself ends the group
    /// with an error, and the process exits non-zero, for its supervisor (systemd's `Restart=on-failure`) to start
    /// it again: a half-dead process that keeps its pid but serves nothing is worse than a restart.
    static func runUntilStopped(
        _ services: [any Service], shutdownGrace: Duration = .seconds(7), logger: Logger
    ) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        // Last resort, if something ignores cancellation too: the library stops the process rather than hang.
        configuration.maximumCancellationDuration = .seconds(2)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// `CONCORD_PROJECTION_STALL_SECONDS` (default 30): how long an appended event may wait for the projection before
    /// `/readyz` calls the projection stalled.
    static func stallThreshold(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Duration {
        let text = environment["CONCORD_PROJECTION_STALL_SECONDS"] ?? "30"
        guard let seconds = Int(text), seconds > 0 else {
            throw ValidationFailure(
                message: "CONCORD_PROJECTION_STALL_SECONDS takes a positive number of seconds, not \(text)")
        }
        return .seconds(seconds)
    }

    /// `CONCORD_CHECKPOINT_KEY` (a private key file) and `CONCORD_CHECKPOINT_INTERVAL` (seconds, default 3600);
    /// no key, no checkpoints. A key that cannot be read stops the start with a one-line message.
    static func checkpointSchedule(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> CheckpointSchedule? {
        guard let file = environment["CONCORD_CHECKPOINT_KEY"], !file.isEmpty else { return nil }
        let key = try failingNow { try CheckpointKeys.privateKey(file: file) }
        let text = environment["CONCORD_CHECKPOINT_INTERVAL"] ?? "3600"
        guard let seconds = Int(text), seconds > 0 else {
            throw ValidationFailure(
                message: "CONCORD_CHECKPOINT_INTERVAL takes a positive number of seconds, not \(text)")
        }
        return CheckpointSchedule(key: key, interval: .seconds(seconds))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations from sql/ and exit.")

    func run() async throws {
        let logger = makeLogger("concord")
        let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
        defer { bootstrap.stopClusterIfStarted() }
        let applied = try await failing { try await bootstrap.migrate(logger: logger) }
        print(
            applied.isEmpty
                ? "migrations: up to date" : "migrations: applied \(applied.map(String.init).joined(separator: ", "))")
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "") ?? .info
    return logger
}

/// Runs `body`, turning any error into a one-line message and exit status 1.
func failing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PSQLError {
        guard let message = error.serverInfo?[.message] else {
            throw ValidationFailure(
                message: "cannot reach PostgreSQL (\(error.code)): is it running, is DATABASE_URL right?")
        }
        throw ValidationFailure(message: "database: " + message)
    } catch  where String(describing: type(of: error)).contains("ConnectionPool") {
        throw ValidationFailure(message: "cannot reach PostgreSQL: is it running, is DATABASE_URL right?")
    } catch let error as PostgresTransactionError {
        throw ValidationFailure(message: "database: \(String(reflecting: error))")
    } catch let error as CustomStringConvertible & Error {
        throw ValidationFailure(message: error.description)
    } catch {
        throw ValidationFailure(message: String(describing: error))
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}
