import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Synchronization
import Testing

/// A primary and a synchronous standby (two PostgreSQL servers on loopback, streaming replication,
/// `synchronous_standby_names`), `concord serve` with a `DATABASE_URL` naming both, clerks lodging complaints with an
/// Idempotency-Key at a steady pace; the primary is killed with SIGKILL and the standby promoted. Concord must find
/// the new primary by itself, and every complaint answered 2xx must be in the log exactly once.
@Suite(.serialized, .timeLimit(.minutes(5))) struct DatabaseFailoverTests {
    @Test func noAcknowledgedCommandIsLostWhenThePrimaryDies() async throws {
        // setup: the two servers, the database and the service on the URL that names both
        let directory = "/tmp/concord-ha-\(getpid())"
        try await LoopbackServer.makeDirectory(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = try await LoopbackServer.create(
            in: directory, name: "primary", settings: "synchronous_standby_names = '*'")
        try await primary.start()
        defer { primary.stop() }
        // Once promoted, the standby has no standby of its own: it must not wait for one.
        let standby = try await LoopbackServer.standby(
            of: primary, in: directory, name: "standby", settings: "synchronous_standby_names = ''")
        try await standby.start()
        defer { standby.stop() }
        try await poll(within: .seconds(30), "the standby streams synchronously") {
            try await primary.sql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == "1\n"
        }
        try await primary.sql("CREATE DATABASE concord")
        let hosts = "127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)"
        let query = "target_session_attrs=read-write&sslmode=disable"
        var environment = ServeNode.serveEnvironment(try primary.settings())
        environment["DATABASE_URL"] = "postgres://postgres@\(hosts)/concord?\(query)"
        environment["CONCORD_SERVICE_DATABASE_URL"] = "postgres://concord_service@\(hosts)/concord?\(query)"
        let imported = try await runProcess(
            concordExecutable, ["reference", "import", demoReference.path], environment: environment)
        try #require(imported.status == 0, "\(imported.output)")
        let tokens = try await Tokens.make(try primary.settings())
        let serve = try await ServeNode.start(try primary.settings(), environment: environment)
        defer { serve.discard() }

        // act: a steady load; after a while the primary dies and the standby is promoted
        let run = "ha-\(UUID().uuidString.prefix(8))"
        let load = ClerkLoad(serve: serve, token: tokens.office, prefix: run)
        let clerks = Task { await load.run(clerks: 4) }
        try await poll(within: .seconds(30), "the load is under way") { load.acknowledged >= 30 }
        let killed = ContinuousClock.now
        try primary.kill()
        try await standby.promote()
        let promoted = ContinuousClock.now
        try await poll(
            within: .seconds(60), "a command succeeds after the failover (\(load.answers.count) answers)\n\(serve.log)"
        ) {
            load.firstSuccess(after: killed) != nil
        }
        let recovered = try #require(load.firstSuccess(after: killed))
        try await poll(within: .seconds(30), "the load goes on after the failover") {
            load.acknowledged(after: recovered) >= 60
        }
        load.stop()
        await clerks.value

        // check: every 2xx is in the new primary's log exactly once, and nothing is there twice
        let answers = load.answers
        let acknowledged = answers.filter { $0.id != nil }
        #expect(answers.allSatisfy { $0.id != nil }, "every command got its 2xx: \(answers.filter { $0.id == nil })")
        let rows = try await standby.sql(
            """
            SELECT metadata->>'idempotency_key', count(*), min(stream_id) FROM events
            WHERE metadata->>'idempotency_key' LIKE '\(run)-%' GROUP BY 1
            """, database: "concord")
        var inLog: [String: (count: Int, stream: String)] = [:]
        for line in rows.split(separator: "\n") {
            let fields = line.split(separator: "|").map(String.init)
            inLog[fields[0]] = (Int(fields[1]) ?? 0, fields[2])
        }
        let lost = acknowledged.filter { inLog[$0.key] == nil }
        let duplicated = inLog.filter { $0.value.count != 1 }
        let misnamed = acknowledged.filter { answer in inLog[answer.key].map { $0.stream != answer.id } ?? false }
        #expect(lost.isEmpty, "acknowledged but not in the log: \(lost.map(\.key))")
        #expect(duplicated.isEmpty, "written more than once: \(duplicated)")
        #expect(misnamed.isEmpty, "the log names another case than the answer: \(misnamed)")
        try await poll(within: .seconds(90), "the projection reaches the new primary's head\n\(serve.log)") {
            let line = try await standby.sql(
                """
                SELECT (SELECT position FROM projection.checkpoints WHERE name = 'cases')
                     = (SELECT max(position) FROM events)
                """, database: "concord")
            return line == "t\n"
        }
        let verified = try await runProcess(concordExecutable, ["audit", "verify"], environment: environment)
        #expect(verified.status == 0 && verified.output.contains("log is sound"), "\(verified.output)")

        // the figures, for the operators' notes
        let report = FailoverReport(answers: answers, killed: killed, promoted: promoted, recovered: recovered)
        print(report.lines.joined(separator: "\n"))
        #expect(recovered.answered - killed < .seconds(30), "\(report.lines)")
    }
}

/// One command's story: its key, when it was first sent, when and what it was finally answered.
struct ClerkAnswer: Sendable {
    var key: String
    var firstSent: ContinuousClock.Instant
    var answered: ContinuousClock.Instant
    var attempts: Int
    /// The complaint's id from the 2xx; nil when no 2xx came.
    var id: String?
    var lastStatus: String
}

/// Clerks lodging complaints one after another, each with a key of its own, retrying a failed send with the same key
/// (as the front offices' clients do) until it is answered 2xx or a refusal that retrying cannot change.
final class ClerkLoad: Sendable {
    let serve: ServeNode
    let token: String
    let prefix: String
    private let state = Mutex<(answers: [ClerkAnswer], stopped: Bool)>(([], false))

    init(serve: ServeNode, token: String, prefix: String) {
        self.serve = serve
        self.token = token
        self.prefix = prefix
    }

    var answers: [ClerkAnswer] { self.state.withLock { $0.answers } }
    var acknowledged: Int { self.state.withLock { $0.answers.count { $0.id != nil } } }
    func stop() { self.state.withLock { $0.stopped = true } }
    private var stopped: Bool { self.state.withLock { $0.stopped } }

    func acknowledged(after answer: ClerkAnswer) -> Int {
        self.state.withLock { $0.answers.count { $0.id != nil && $0.firstSent > answer.answered } }
    }

    /// The first command answered 2xx that was sent (or sent again) after `instant`.
    func firstSuccess(after instant: ContinuousClock.Instant) -> ClerkAnswer? {
        self.state.withLock { state in
            state.answers.filter {
                $0.id != nil && $0.answered > instant && ($0.attempts > 1 || $0.firstSent > instant)
            }
            .min { $0.answered < $1.answered }
        }
    }

    func run(clerks: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for clerk in 0..<clerks {
                group.addTask {
                    var number = 0
                    while !self.stopped {
                        number += 1
                        let answer = await self.lodge(key: "\(self.prefix)-\(clerk)-\(number)")
                        self.state.withLock { $0.answers.append(answer) }
                    }
                }
            }
        }
    }

    private func lodge(key: String) async -> ClerkAnswer {
        let firstSent = ContinuousClock.now
        var attempts = 0
        var pause = Duration.milliseconds(50)
        var last = "not sent"
        while ContinuousClock.now - firstSent < .seconds(90) {
            attempts += 1
            do {
                let answer = try await HTTP.send(
                    .post, self.serve.url("/v1/complaints"), token: self.token, body: Body.complaint,
                    headers: ["Idempotency-Key": key], timeout: .seconds(10))
                last = "\(answer.status)"
                if (200..<300).contains(answer.status) {
                    let id = (try? JSONParser.parse(Array(answer.body.utf8)))?["id"]?.stringValue
                    return ClerkAnswer(
                        key: key, firstSent: firstSent, answered: .now, attempts: attempts, id: id, lastStatus: last)
                }
                if (400..<500).contains(answer.status), ![408, 429].contains(answer.status) { break }
            } catch {
                last = "\(error)"
            }
            // A client's backoff between retries of one command, not a wait for the service's work.
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(1))
        }
        return ClerkAnswer(
            key: key, firstSent: firstSent, answered: .now, attempts: attempts, id: nil, lastStatus: last)
    }
}

/// Latency of commands (first send to 2xx) sent before the kill, during the failover and after the recovery.
struct FailoverReport {
    var lines: [String]

    init(
        answers: [ClerkAnswer], killed: ContinuousClock.Instant, promoted: ContinuousClock.Instant,
        recovered: ClerkAnswer
    ) {
        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        }
        func figures(_ name: String, _ selected: [ClerkAnswer]) -> String {
            let sorted = selected.filter { $0.id != nil }.map { milliseconds($0.answered - $0.firstSent) }.sorted()
            guard !sorted.isEmpty else { return "\(name): no commands" }
            let at = { (q: Double) in sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
            return String(
                format: "%@: %d commands, p50 %.1f ms, p99 %.1f ms, max %.1f ms", name, sorted.count, at(0.5), at(0.99),
                sorted.last ?? 0)
        }
        let before = answers.filter { $0.answered < killed }
        let during = answers.filter { $0.answered >= killed && $0.firstSent <= recovered.answered }
        let after = answers.filter { $0.firstSent > recovered.answered }
        self.lines = [
            "failover: \(answers.count) commands, \(answers.count { $0.id != nil }) answered 2xx, "
                + "\(answers.reduce(0) { $0 + $1.attempts - 1 }) retries",
            String(format: "failover: standby promoted %.0f ms after the kill", milliseconds(promoted - killed)),
            String(
                format: "failover: first command answered 2xx %.0f ms after the kill",
                milliseconds(recovered.answered - killed)),
            String(
                format: "failover: first command answered 2xx %.0f ms after the promotion",
                milliseconds(recovered.answered - promoted)),
            figures("failover: before", before), figures("failover: during", during), figures("failover: after", after),
        ]
    }
}
