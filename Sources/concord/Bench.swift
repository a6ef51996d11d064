import ArgumentParser
import ConcordCore
import ConcordStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, reported as ratios to a baseline measured in the same run.",
        subcommands: [AppendBench.self, HTTPBench.self, ProjectionBench.self, WriterLoad.self])
}

/// Concord's append against the naive limit (one autocommit INSERT per event), alternating in short rounds because
/// commit latency on these machines drifts; reports the median of the per-round ratios.
struct AppendBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append", abstract: "Group-commit append versus one INSERT per event.")

    @Option(help: "Concurrent writers, comma-separated.") var writers: String = "1,4,16"
    @Option(help: "Events per variant per writer count.") var events: Int = 20_000
    @Option(help: "Rounds to split them into (a and b alternate each round).") var rounds: Int = 10
    @Option(help: "Payload size in bytes.") var payloadBytes: Int = 500

    func run() async throws {
        let logger = {
            var logger = makeLogger("bench")
            logger.logLevel = .warning
            return logger
        }()
        let writerCounts = self.writers.split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !writerCounts.isEmpty, writerCounts.allSatisfy({ $0 > 0 }), self.events > 0, self.rounds > 0 else {
            throw ValidationFailure(
                message: "--writers takes positive numbers like 1,4,16; --events and --rounds must be positive")
        }
        let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
        defer { bootstrap.stopClusterIfStarted() }
        let database = "concord_bench"
        try await failing { try await bootstrap.freshBenchDatabase(database, logger: logger) }
        var configuration = bootstrap.settings(forDatabase: database).owner
        configuration.options.maximumConnections = (writerCounts.max() ?? 1) + 4
        let payload = JSONValue.object(["text": .string(String(repeating: "x", count: self.payloadBytes))])
        print(
            "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(self.events) events per variant per writer count, \(self.rounds) rounds"
        )
        print("writers  concord ev/s  p50 ms  p99 ms | insert ev/s  p50 ms  p99 ms | ratio (median of rounds)")
        try await PostgresClient.withRunning(configuration, logger: logger) { client in
            try await client.execute(
                """
                CREATE TABLE IF NOT EXISTS bench_naive (LIKE events INCLUDING ALL);
                """, logger: logger)
            let store = EventStore(client: client, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                var naivePosition = ManagedCounter()
                for writers in writerCounts {
                    let before = store.statistics.snapshot
                    var concord = Measurement()
                    var naive = Measurement()
                    var ratios: [Double] = []
                    let perRound = max(1, self.events / self.rounds)
                    for _ in 0..<self.rounds {
                        let a = try await Self.measure(count: perRound, writers: writers) { _ in
                            _ = try await store.append(
                                to: StreamName(type: "bench", id: UUID().uuidString), expectedVersion: .noStream,
                                events: [EventData(type: "BenchEvent", payload: payload)])
                        }
                        let base = naivePosition.take(perRound)
                        let b = try await Self.measure(count: perRound, writers: writers) { index in
                            try await Self.naiveInsert(position: base + Int64(index), payload: payload, client: client)
                        }
                        concord.add(a)
                        naive.add(b)
                        ratios.append(a.eventsPerSecond / b.eventsPerSecond)
                    }
                    ratios.sort()
                    let counts = store.statistics.snapshot
                    let batches = counts.batches - before.batches
                    let grouped = Double(counts.events - before.events) / Double(max(batches, 1))
                    let median = ratios[ratios.count / 2]
                    print(
                        String(
                            format:
                                "%7d  %12.0f  %6.2f  %6.2f | %11.0f  %6.2f  %6.2f | %.2f   (%.1f events per commit)",
                            writers,
                            concord.eventsPerSecond,
                            concord.percentile(0.5), concord.percentile(0.99), naive.eventsPerSecond,
                            naive.percentile(0.5),
                            naive.percentile(0.99), median, grouped))
                }
            }
        }
    }

    /// The naive baseline: the same kind of row, one autocommit INSERT each, no lock and no chain.
    static func naiveInsert(position: Int64, payload: JSONValue, client: PostgresClient) async throws {
        let event = RecordedEvent(
            position: position, stream: StreamName(type: "bench", id: UUID().uuidString), streamVersion: 1, id: UUID(),
            type: "BenchEvent", schemaVersion: 1, payload: payload, metadata: EventMetadata(), recordedAt: .now(),
            hash: [])
        let canonical = EventChain.canonicalBytes(of: event)
        let payloadText = String(decoding: CanonicalJSON.encode(payload), as: UTF8.self)
        try await client.execute(
            """
            INSERT INTO bench_naive (position, stream_type, stream_id, stream_version, event_id, event_type, schema_version,
                                     payload, metadata, recorded_at, canonical, hash)
            VALUES (\(position), \(event.stream.type), \(event.stream.id), 1, \(event.id), \(event.type), 1,
                    \(payloadText)::jsonb, '{}'::jsonb, \(event.recordedAt.rfc3339)::timestamptz,
                    \(ByteBuffer(bytes: canonical)), \(ByteBuffer(bytes: EventChain.hash(previous: EventChain.genesisHash, canonical: canonical))))
            """, logger: Logger(label: "bench"))
    }

    /// Runs `count` operations over `writers` concurrent tasks; returns throughput and per-operation latencies.
    static func measure(
        count: Int, writers: Int, _ operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Measurement {
        let next = SharedIndex()
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<writers {
                group.addTask {
                    var latencies: [Double] = []
                    while true {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        guard index < count else { return latencies }
                        let began = ContinuousClock.now
                        try await operation(index)
                        latencies.append((ContinuousClock.now - began).seconds * 1000)
                    }
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        return Measurement(latencies: latencies, seconds: (ContinuousClock.now - start).seconds)
    }
}

final class SharedIndex: Sendable {
    let value = Atomic<Int>(0)
}

struct ManagedCounter {
    var value: Int64 = 1
    mutating func take(_ count: Int) -> Int64 {
        defer { self.value += Int64(count) }
        return self.value
    }
}

struct Measurement {
    var latencies: [Double] = []
    var seconds: Double = 0

    var eventsPerSecond: Double { Double(self.latencies.count) / max(self.seconds, 1e-9) }

    mutating func add(_ other: Measurement) {
        self.latencies += other.latencies
        self.seconds += other.seconds
    }

    func percentile(_ fraction: Double) -> Double {
        guard !self.latencies.isEmpty else { return 0 }
        let sorted = self.latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

extension DatabaseBootstrap {
    /// A bench's own database, dropped and migrated anew so that each run starts from an empty log.
    func freshBenchDatabase(_ database: String, logger: Logger) async throws {
        var maintenance = self.settings.owner
        maintenance.database = "postgres"
        _ = try await PostgresClient.withRunning(maintenance, logger: logger) { client in
            try await client.execute("DROP DATABASE IF EXISTS \(unescaped: database) WITH (FORCE)", logger: logger)
        }
        try await self.createDatabaseIfMissing(database, logger: logger)
        _ = try await self.migrate(database: database, logger: logger)
    }
}
