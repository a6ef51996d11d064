import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordStore
import Crypto
import ConcordWorkload
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The projections' targets, each against a baseline measured in the same run: a rebuild of a generated log
/// against a plain sequential read of it; a queue page against a primary-key lookup; the projection's lag under a
/// steady command load against the commands' own commit latency.
struct ProjectionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "Projection rebuild, queue page latency and lag under load.")

    @Option(help: "Events in the generated log.") var events: Int = 1_000_000
    @Option(help: "Open cases in the measured programme's queue.") var queueCases: Int = 100_000
    @Option(help: "Queue pages to time.") var pages: Int = 1_000
    @Option(help: "Commands per second during the lag measurement.") var rate: Int = 1_000
    @Option(help: "Seconds of the lag measurement.") var seconds: Int = 20
    /// Most complaints name their complainant, whose details are sealed under a new data key; off: anonymous.
    @Flag(inversion: .prefixedNo, help: "Lag commands lodge named complainants (sealed) or anonymous ones.")
    var personalData = true
    @Flag(help: "Keep the generated database of an earlier run when it holds enough events.") var reuse = false
    @Option(help: "Which measurements: a (rebuild), d (verify), b (queue), c (lag), comma-separated.")
    var sections = "a,d,b,c"

    static let database = "concord_bench_projections"

    func run() async throws {
        guard self.events > 0, self.queueCases > 0, self.pages > 0, self.rate > 0, self.seconds > 0 else {
            throw ValidationFailure(message: "every option takes a positive number")
        }
        let logger = {
            var logger = makeLogger("bench")
            logger.logLevel = .warning
            return logger
        }()
        let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
        defer { bootstrap.stopClusterIfStarted() }
        var configuration = bootstrap.settings(forDatabase: Self.database).owner
        configuration.options.maximumConnections = 40
        let fresh = try await failing { try await self.prepareDatabase(bootstrap, logger: logger) }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores")
        try await PostgresClient.withRunning(configuration, logger: logger) { client in
            let store = EventStore(client: client, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                let head = try await store.head().position
                if fresh || head < Int64(self.events) {
                    try await Self.generate(events: self.events, store: store)
                }
                let sections = Set(self.sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                if sections.contains("a") { try await Self.rebuild(client: client, store: store, logger: logger) }
                if sections.contains("d") { try await Self.verify(store: store) }
                if sections.contains("b") { try await self.queue(client: client, store: store, logger: logger) }
                if sections.contains("c") { try await self.lag(client: client, store: store, logger: logger) }
            }
        }
    }

    /// Creates the benchmark database unless `--reuse` finds one; true when it is new.
    private func prepareDatabase(_ bootstrap: DatabaseBootstrap, logger: Logger) async throws -> Bool {
        var maintenance = bootstrap.settings.owner
        maintenance.database = "postgres"
        let exists = try await PostgresClient.withRunning(maintenance, logger: logger) { client in
            if !self.reuse {
                try await client.execute(
                    "DROP DATABASE IF EXISTS \(unescaped: Self.database) WITH (FORCE)", logger: logger)
                return false
            }
            let rows = try await client.query(
                "SELECT 1 FROM pg_database WHERE datname = \(Self.database)", logger: logger)
            return try await rows.collect().count > 0
        }
        try await bootstrap.createDatabaseIfMissing(Self.database, logger: logger)
        _ = try await bootstrap.migrate(database: Self.database, logger: logger)
        return !exists
    }

    /// Appends the reference data and random case lives until the log holds `events` events.
    static func generate(events target: Int, store: EventStore) async throws {
        let start = ContinuousClock.now
        let origin = Timestamp(microsecondsSinceEpoch: 1_790_000_000_000_000)
        try await Workload.appendReference(to: store, at: origin)
        let appended = SharedIndex()
        let next = SharedIndex()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<48 {
                group.addTask {
                    var rng = SeededRandom(seed: UInt64(writer) &+ 7)
                    while appended.value.load(ordering: .relaxed) < target {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        var walk = CaseWalk(
                            kind: CaseWalk.Kind.allCases[index % 3], id: "B-\(index)",
                            start: Timestamp(
                                microsecondsSinceEpoch: origin.microsecondsSinceEpoch + Int64(index) * 20_000_000))
                        let life = walk.life(&rng)
                        guard !life.isEmpty else { continue }
                        _ = try await store.append(to: walk.stream, expectedVersion: .noStream, events: life)
                        appended.value.add(life.count, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start).seconds
        let head = try await store.head().position
        print(
            String(
                format: "generated a log of %d events in %.1f s (%.0f events/s)", head, seconds, Double(head) / seconds)
        )
    }

    /// (a) A rebuild of every projection from scratch, against reading the same log in the same pages.
    static func rebuild(client: PostgresClient, store: EventStore, logger: Logger) async throws {
        let head = try await store.head().position
        let read = try await Self.timed { try await Self.readAll(store) }
        let rebuild = ProjectionRebuild(client: client, store: store, logger: logger)
        let rebuilt = try await Self.timed { _ = try await rebuild.run() }
        let readRate = Double(head) / read
        let rebuildRate = Double(head) / rebuilt
        print(
            String(
                format:
                    "(a) rebuild of %d events: %.1f s, %.0f events/s | plain read (pages of 2,000, decoded): %.1f s, %.0f events/s | ratio %.2f",
                head, rebuilt, rebuildRate, read, readRate, rebuildRate / readRate))
    }

    /// (d) `audit verify` (chain, canonical form, copies, payloads, stream sequences) against a plain read.
    static func verify(store: EventStore) async throws {
        let head = try await store.head().position
        let readCPU = Self.processorSeconds()
        let read = try await Self.timed { try await Self.readAll(store) }
        let verifyCPU = Self.processorSeconds()
        var report: VerificationReport? = nil
        let verified = try await Self.timed { report = try await store.verify(checkStreams: true) }
        let doneCPU = Self.processorSeconds()
        guard let report, report.isSound else {
            throw ValidationFailure(
                message: "the generated log does not verify: \(String(describing: report?.problem))")
        }
        print(
            String(
                format:
                    "(d) audit verify of %d events: %.1f s, %.0f events/s | plain read: %.1f s, %.0f events/s | ratio %.2f | this process's CPU time: verify %.1f s, read %.1f s",
                head, verified, Double(head) / verified, read, Double(head) / read, read / verified,
                doneCPU - verifyCPU, verifyCPU - readCPU))
    }

    static func readAll(_ store: EventStore) async throws {
        var position: Int64 = 0
        while true {
            let page = try await store.readAll(after: position, limit: 2_000)
            guard let last = page.last else { break }
            position = last.position
        }
    }

    /// (b) Queue pages of a programme with `queueCases` open cases, against a primary-key lookup of one case.
    func queue(client: PostgresClient, store: EventStore, logger: Logger) async throws {
        let programme = "PWP"
        let start = Timestamp(microsecondsSinceEpoch: 1_795_000_000_000_000)
        let created = SharedIndex()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    var index = writer
                    while index < self.queueCases {
                        let lodgement = Complaint.Lodgement(
                            channel: .walkIn, programme: programme, category: Complaint.Category.allCases[index % 9],
                            description: "Queued", area: Workload.communities[index % 8],
                            office: Workload.offices[index % 4],
                            complainant: .anonymous, contactPreference: .none,
                            at: Timestamp(
                                microsecondsSinceEpoch: start.microsecondsSinceEpoch + Int64(index) * 1_000_000))
                        do {
                            _ = try await store.append(
                                to: StreamName(type: Complaint.streamType, id: "Q-\(index)"),
                                expectedVersion: .noStream,
                                events: [Complaint.Event.lodged(lodgement).eventData()])
                        } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                            // there from an earlier run (--reuse)
                        }
                        created.value.add(1, ordering: .relaxed)
                        index += 32
                    }
                }
            }
            try await group.waitForAll()
        }
        _ = try await catchUpProjections(client: client, store: store, logger: logger)
        // Fresh statistics, as autovacuum would leave them, so that the timing is not of a stale plan.
        try await client.execute("VACUUM ANALYZE projection.cases", logger: logger)
        let queries = ProjectionQueries(client: client, logger: logger)
        let now = Timestamp(microsecondsSinceEpoch: start.microsecondsSinceEpoch + 30 * 86_400_000_000)
        var filter = CaseFilter()
        filter.waitingOn = programme
        let open = try await queries.cases(
            scope: .everything, filter: filter, order: .due, after: nil, limit: 1, now: now)
        _ = open
        var pageTimes: [Double] = []
        var lookupTimes: [Double] = []
        var cursor: PageCursor? = nil
        for index in 0..<self.pages {
            var variant = filter
            if index % 4 == 1 { variant.overdue = true }
            if index % 4 == 2 { variant.category = Complaint.Category.allCases[index % 9].rawValue }
            let began = ContinuousClock.now
            let page = try await queries.cases(
                scope: .everything, filter: variant, order: .due, after: index % 4 == 3 ? cursor : nil, limit: 50,
                now: now)
            pageTimes.append((ContinuousClock.now - began).seconds * 1000)
            if index % 4 == 3 { cursor = page.next }
            let id = "Q-\(Int.random(in: 0..<self.queueCases))"
            let lookupStart = ContinuousClock.now
            let rows = try await client.query(
                "SELECT status, due_at FROM projection.cases WHERE kind = 'complaint' AND id = \(id)", logger: logger)
            _ = try await rows.collect()
            lookupTimes.append((ContinuousClock.now - lookupStart).seconds * 1000)
        }
        let page = Measurement(latencies: pageTimes, seconds: 1)
        let lookup = Measurement(latencies: lookupTimes, seconds: 1)
        print(
            String(
                format:
                    "(b) queue of %@ with %d open cases, %d pages of 50 (first, overdue, category, keyset next): p50 %.2f ms, p99 %.2f ms | primary-key lookup p50 %.2f ms, p99 %.2f ms | ratio p99 %.1f",
                programme, created.value.load(ordering: .relaxed), self.pages, page.percentile(0.5),
                page.percentile(0.99),
                lookup.percentile(0.5), lookup.percentile(0.99),
                page.percentile(0.99) / max(lookup.percentile(0.99), 1e-9)))
    }

    /// (c) The live runner's lag while commands arrive at `rate` per second: from each command's commit to the
    /// runner's commit of its effect; against the commands' own latency.
    func lag(client: PostgresClient, store: EventStore, logger: Logger) async throws {
        let ledger = LagLedger()
        let runner = ProjectionRunner(
            client: client, store: store, escalator: nil, logger: logger, leaseRetry: .milliseconds(100),
            pollInterval: .milliseconds(200)
        ) { position in ledger.applied(position) }
        // Commands as the service runs them: each lodgement's personal details sealed under a new data key.
        let vault = PersonalDataVault(client: client, master: SymmetricKey(size: .bits256), logger: logger)
        try await client.query("DELETE FROM master_key_probe", logger: logger)  // this scratch database's own key
        try await vault.checkMasterKey(using: client)
        let repository = CaseRepository<Complaint>(store: store, vault: self.personalData ? vault : nil)
        let named = self.personalData
        let total = self.rate * self.seconds
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            try await withThrowingTaskGroup(of: Void.self) { load in
                let start = ContinuousClock.now
                let tick = Duration.milliseconds(10)
                let perTick = max(1, self.rate / 100)
                var sent = 0
                while sent < total {
                    for _ in 0..<perTick where sent < total {
                        let index = sent
                        sent += 1
                        load.addTask {
                            let began = ContinuousClock.now
                            let lodgement = Complaint.Lodgement(
                                channel: .hotline, programme: "CCT", category: .paymentDelay, description: "Load",
                                area: Workload.communities[index % 8], office: Workload.offices[index % 4],
                                complainant: named
                                    ? .person(PersonDetails(name: "Load \(index)", phone: "+255700000000"))
                                    : .anonymous,
                                contactPreference: named ? .sms : .none, at: Timestamp.now())
                            let outcome = try await repository.handle(
                                "L-\(index)-\(UUID().uuidString.prefix(8))", metadata: EventMetadata(actor: "bench")
                            ) { _ in .lodge(lodgement) }
                            let position = outcome.loaded.events.last?.position ?? 0
                            let done = ContinuousClock.now
                            ledger.committed(position, at: done, took: (done - began).seconds * 1000)
                        }
                    }
                    try await Task.sleep(until: start + tick * (sent / perTick), clock: .continuous)
                }
                try await load.waitForAll()
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while ledger.pending > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            group.cancelAll()
        }
        let lag = Measurement(latencies: ledger.lags.withLock { $0 }, seconds: 1)
        let commands = Measurement(latencies: ledger.commandTimes.withLock { $0 }, seconds: 1)
        print(
            String(
                format:
                    "(c) lag at %d commands/s%@ for %d s (%d measured): p50 %.1f ms, p99 %.1f ms | command commit latency p50 %.1f ms, p99 %.1f ms | ratio p99 %.1f",
                self.rate, self.personalData ? " (named complainants, sealed)" : " (anonymous)", self.seconds,
                lag.latencies.count, lag.percentile(0.5), lag.percentile(0.99),
                commands.percentile(0.5), commands.percentile(0.99),
                lag.percentile(0.99) / max(commands.percentile(0.99), 1e-9)))
    }

    /// User and system CPU time this process has used so far, in seconds.
    static func processorSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func timed(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start).seconds
    }
}

/// When each command committed, and how long until the projection had applied it.
final class LagLedger: Sendable {
    private let waiting = Mutex<[Int64: ContinuousClock.Instant]>([:])
    let lags = Mutex<[Double]>([])
    let commandTimes = Mutex<[Double]>([])

    func committed(_ position: Int64, at instant: ContinuousClock.Instant, took milliseconds: Double) {
        self.waiting.withLock { $0[position] = instant }
        self.commandTimes.withLock { $0.append(milliseconds) }
    }

    func applied(_ position: Int64) {
        let now = ContinuousClock.now
        let done = self.waiting.withLock { waiting in
            let reached = waiting.filter { $0.key <= position }
            for key in reached.keys { waiting.removeValue(forKey: key) }
            return reached.values.map { (now - $0).seconds * 1000 }
        }
        self.lags.withLock { $0 += done }
    }

    var pending: Int { self.waiting.withLock { $0.count } }
}
