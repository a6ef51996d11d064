import ArgumentParser
import AsyncHTTPClient
import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordWorkload
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Lodging anonymous complaints through the HTTP API (the whole service: authentication, the command pipeline,
/// group commit) against the store's own append of one event per call, alternating in short rounds in one run;
/// then the HTTP latency at half the store's rate.
struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http", abstract: "HTTP lodging versus the store's own append rate, in the same run.")

    @Option(help: "Concurrent connections (and store writers), comma-separated.") var connections: String = "1,4,16"
    @Option(help: "Lodges per variant per connection count.") var requests: Int = 6_000
    @Option(help: "Rounds to split them into (HTTP and store alternate each round).") var rounds: Int = 6

    static let body = """
        {"channel":"walk_in","programme":"CCT","category":"payment_delay","description":"The March payment is late.",
         "area":"C-111","office":"OFF-1","anonymous":true,"contact_preference":"in_person","sensitive":false}
        """

    func run() async throws {
        let logger = {
            var logger = makeLogger("bench")
            logger.logLevel = .warning
            return logger
        }()
        let counts = self.connections.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }), self.requests > 0, self.rounds > 0 else {
            throw ValidationFailure(
                message: "--connections takes positive numbers like 1,4,16; --requests and --rounds must be positive")
        }
        let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
        defer { bootstrap.stopClusterIfStarted() }
        let database = "concord_bench_http"
        try await failing { try await bootstrap.freshBenchDatabase(database, logger: logger) }
        var configuration = bootstrap.settings(forDatabase: database).owner
        configuration.options.maximumConnections = 2 * (counts.max() ?? 1) + 8
        let token = try await PostgresClient.withRunning(configuration, logger: logger) { client in
            try await TokenStore(client: client, logger: logger).create(role: .office, scope: "OFF-1", label: "bench")
                .secret
        }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(self.requests) lodges per variant")
        try await HTTPBenchRun(
            configuration: configuration, token: token, counts: counts, requests: self.requests, rounds: self.rounds,
            logger: logger
        ).run()
    }
}

/// One run of the HTTP bench against an application served from this process on a free loopback port.
struct HTTPBenchRun {
    let configuration: PostgresClient.Configuration
    let token: String
    let counts: [Int]
    let requests: Int
    let rounds: Int
    let logger: Logger

    func run() async throws {
        let client = PostgresClient(configuration: self.configuration, backgroundLogger: self.logger)
        let store = EventStore(client: client, logger: self.logger)
        let reference = ReferenceFollower(store: store, logger: self.logger)
        let vault = PersonalDataVault(client: client, master: SymmetricKey(size: .bits256), logger: self.logger)
        let port = PortPromise()
        let app = buildApplication(
            AppContext(
                client: client, store: store,
                migrator: Migrator(migrations: try Migration.bundled(), logger: self.logger),
                tokens: TokenStore(client: client, logger: self.logger), reference: reference, vault: vault,
                runsProjections: false),
            port: 0, logger: self.logger, onServerRunning: { port.fulfil($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            try await vault.checkMasterKey(using: client)
            try await Workload.appendReference(to: store, at: .now())
            await reference.ready()
            let url = "http://127.0.0.1:\(try await port.value)/v1/complaints"
            try await self.measure(url: url, store: store)
        }
    }

    private func measure(url: String, store: EventStore) async throws {
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: (self.counts.max() ?? 1) + 1)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        defer { _ = httpClient.shutdown() }
        let lodge: @Sendable (Int) async throws -> Void = { _ in
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(self.token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: HTTPBench.body))
            let response = try await httpClient.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .created else { throw BenchFailure(status: response.status.code) }
        }
        let append: @Sendable (Int) async throws -> Void = { _ in
            _ = try await store.append(
                to: StreamName(type: "bench", id: UUID().uuidString), expectedVersion: .noStream,
                events: [EventData(type: "BenchEvent", payload: ["text": .string(HTTPBench.body)])])
        }
        // Warm the connections and the plans.
        _ = try await AppendBench.measure(count: 200, writers: self.counts.max() ?? 1, lodge)
        print("conns  http req/s  p50 ms  p99 ms | store ev/s  p50 ms  p99 ms | ratio (median of rounds)")
        var halfRate: (connections: Int, rate: Double)?
        for connections in self.counts {
            var httpRuns = Measurement()
            var storeRuns = Measurement()
            var ratios: [Double] = []
            let perRound = max(1, self.requests / self.rounds)
            for _ in 0..<self.rounds {
                let a = try await AppendBench.measure(count: perRound, writers: connections, lodge)
                let b = try await AppendBench.measure(count: perRound, writers: connections, append)
                httpRuns.add(a)
                storeRuns.add(b)
                ratios.append(a.eventsPerSecond / b.eventsPerSecond)
            }
            ratios.sort()
            print(
                String(
                    format: "%5d  %10.0f  %6.2f  %6.2f | %10.0f  %6.2f  %6.2f | %.2f", connections,
                    httpRuns.eventsPerSecond, httpRuns.percentile(0.5), httpRuns.percentile(0.99),
                    storeRuns.eventsPerSecond, storeRuns.percentile(0.5), storeRuns.percentile(0.99),
                    ratios[ratios.count / 2]))
            halfRate = (connections, storeRuns.eventsPerSecond / 2)
        }
        if let (connections, rate) = halfRate {
            let paced = try await Self.paced(rate: rate, seconds: 10, connections: connections, lodge)
            print(
                String(
                    format: "paced at half the store's rate (%.0f req/s, %d connections): %.0f req/s, p50 %.2f ms, "
                        + "p99 %.2f ms", rate, connections, paced.eventsPerSecond, paced.percentile(0.5),
                    paced.percentile(0.99)))
        }
    }

    /// Sends at a fixed rate (open loop, each request at its scheduled time, at most `connections` in flight), so
    /// that latency is measured at a load the service should carry, not at saturation.
    static func paced(
        rate: Double, seconds: Double, connections: Int, _ operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Measurement {
        let total = max(1, Int(rate * seconds))
        let interval = Duration.seconds(1 / max(rate, 1))
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: Double.self) { group in
            var all: [Double] = []
            var inFlight = 0
            for index in 0..<total {
                let due = start + interval * index
                if inFlight >= connections, let latency = try await group.next() {
                    all.append(latency)
                    inFlight -= 1
                }
                try await Task.sleep(until: due, clock: .continuous)
                inFlight += 1
                group.addTask {
                    let began = ContinuousClock.now
                    try await operation(index)
                    return (ContinuousClock.now - began).seconds * 1000
                }
            }
            for try await latency in group { all.append(latency) }
            return all
        }
        return Measurement(latencies: latencies, seconds: (ContinuousClock.now - start).seconds)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var status: UInt
    var description: String { "a lodge was answered \(self.status), not 201" }
}

/// The port the application bound, once it runs.
final class PortPromise: Sendable {
    private let stream: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation

    init() {
        (self.stream, self.continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
    }

    func fulfil(_ channel: any Channel) {
        self.continuation.yield(channel.localAddress?.port ?? 0)
        self.continuation.finish()
    }

    var value: Int {
        get async throws {
            for await port in self.stream { return port }
            throw ValidationFailure(message: "the bench's server did not start")
        }
    }
}
