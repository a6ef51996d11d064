import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

/// `DATABASE_READ_URL` for real: a primary and a streaming standby on loopback, `concord serve` writing to the
/// primary and reading the audit export and past cases from the standby. The standby's replay is paused to prove
/// where the reads come from (they lag, and their headers say so), resumed (they catch up), then the standby is
/// stopped (audit reads answer 503, the service stays ready).
@Suite(.serialized, .timeLimit(.minutes(5))) struct ReadReplicaTests {
    @Test func auditReadsComeFromTheStandbyAndSayHowFarBehindItIs() async throws {
        // setup: a primary, a standby streaming from it, the service on both
        let directory = "/tmp/concord-read-\(getpid())"
        try await LoopbackServer.makeDirectory(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = try await LoopbackServer.create(in: directory, name: "primary")
        try await primary.start()
        defer { primary.stop() }
        let standby = try await LoopbackServer.standby(of: primary, in: directory, name: "standby")
        try await standby.start()
        defer { standby.stop() }
        try await poll(within: .seconds(30), "the standby streams") {
            try await primary.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1\n"
        }
        try await primary.sql("CREATE DATABASE concord")
        var environment = ServeNode.serveEnvironment(try primary.settings())
        environment["DATABASE_READ_URL"] = standby.url(user: "concord_service")
        let imported = try await runProcess(
            concordExecutable, ["reference", "import", demoReference.path], environment: environment)
        try #require(imported.status == 0, "\(imported.output)")
        let tokens = try await Tokens.make(try primary.settings())
        let serve = try await ServeNode.start(try primary.settings(), environment: environment)
        defer { serve.discard() }
        let reads = AuditReads(serve: serve, token: tokens.auditor)

        // act and check: complaints lodged on the primary are exported from the standby once it has them
        var lodged: [String] = []
        for _ in 0..<3 { lodged.append(try await self.lodge(serve, token: tokens.office)) }
        let caughtUp = try #require(try await Self.head(of: primary))
        try await poll(within: .seconds(30), "the export reads the standby at the primary's head") {
            let answer = try await reads.export()
            return answer.status == 200 && answer.headers["concord-read-position"] == "\(caughtUp)"
                && lodged.allSatisfy { answer.body.contains($0) }
        }

        // the standby's replay paused: what the primary writes now is not in the answers, and they say they lag
        try await standby.sql("SELECT pg_wal_replay_pause()")
        try await poll(within: .seconds(10), "the standby's replay pauses") {
            try await standby.sql("SELECT pg_get_wal_replay_pause_state()") == "paused\n"
        }
        let paused = try #require(try await Self.head(of: standby))
        let late = try await self.lodge(serve, token: tokens.office)
        let ahead = try #require(try await Self.head(of: primary))
        #expect(ahead > paused)
        try await poll(within: .seconds(10), "the export lags and says so") {
            let answer = try await reads.export()
            let lag = answer.headers["concord-replica-lag"].flatMap(Double.init) ?? 0
            return answer.status == 200 && answer.headers["concord-read-position"] == "\(paused)" && lag > 0
                && !answer.body.contains(late) && lodged.allSatisfy { answer.body.contains($0) }
        }
        let notYet = try await reads.asOf(late, position: ahead)
        #expect(notYet.status == 503, "\(notYet.body)")
        #expect(notYet.headers["retry-after"] == "1")
        #expect(notYet.body.contains("replayed the log up to position \(paused)"), "\(notYet.body)")
        let past = try await reads.asOf(lodged[0], position: paused)
        #expect(past.status == 200, "\(past.body)")
        #expect(past.headers["concord-read-position"] == "\(paused)")
        #expect(past.body.contains(lodged[0]))

        // resumed: the standby catches up, and the answers say it is not behind
        try await standby.sql("SELECT pg_wal_replay_resume()")
        try await poll(within: .seconds(30), "the export catches up") {
            let answer = try await reads.export()
            return answer.status == 200 && (Int64(answer.headers["concord-read-position"] ?? "") ?? 0) >= ahead
                && answer.headers["concord-replica-lag"] == "0.000" && answer.body.contains(late)
        }
        let caught = try await reads.asOf(late, position: ahead)
        #expect(caught.status == 200, "\(caught.body)")
        #expect(caught.body.contains(late))
        let ready = try await HTTP.send(.get, serve.url("/readyz"))
        #expect(ready.status == 200 && ready.body.contains("read replica: position"), "\(ready.body)")

        // the standby gone: audit reads answer 503 (not the primary's data), the service stays ready and writes
        standby.stop()
        try await poll(within: .seconds(20), "audit reads answer 503 without the standby") {
            let answer = try await reads.export()
            return answer.status == 503 && answer.headers["content-type"] == "application/problem+json"
                && answer.body.contains("Read replica unavailable") && answer.headers["retry-after"] == "5"
        }
        let stillReady = try await HTTP.send(.get, serve.url("/readyz"))
        #expect(stillReady.status == 200, "\(stillReady.body)")
        #expect(stillReady.body.contains("read replica: unreachable"), "\(stillReady.body)")
        _ = try await self.lodge(serve, token: tokens.office)
    }

    @Test func aBadReadURLStopsTheStartWithOneLine() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["CONCORD_MASTER_KEY"] = TestDatabases.masterKeyText
        environment["CONCORD_MASTER_KEY_FILE"] = nil
        environment["DATABASE_READ_URL"] = "postgres://concord_service@db1:5432,db2:70000/concord"
        let result = try await runProcess(
            concordExecutable, ["serve", "--port", "\(try freePort())"], environment: environment)
        let lines = result.output.split(separator: "\n")
        #expect(result.status != 0)
        #expect(lines.count == 1, "\(result.output)")
        #expect(
            result.output.contains("DATABASE_READ_URL: host 2 (db2) has port 70000, not a number from 1 to 65535"),
            "\(result.output)")
    }

    /// The last position of the log on `server`.
    private static func head(of server: LoopbackServer) async throws -> Int64? {
        Int64(try await server.sql("SELECT max(position) FROM events", database: "concord").trimmed)
    }

    /// Lodges a complaint on the primary; returns its id.
    private func lodge(_ serve: ServeNode, token: String) async throws -> String {
        let answer = try await HTTP.send(.post, serve.url("/v1/complaints"), token: token, body: Body.complaint)
        try #require(answer.status == 201, "\(answer.body)")
        return try #require(try JSONParser.parse(Array(answer.body.utf8))["id"]?.stringValue)
    }
}

/// An auditor's reads of the audit routes of one node.
struct AuditReads {
    let serve: ServeNode
    let token: String

    func export() async throws -> HTTP.Answer {
        try await HTTP.send(.get, self.serve.url("/v1/audit/events?limit=100000"), token: self.token)
    }

    func asOf(_ id: String, position: Int64) async throws -> HTTP.Answer {
        try await HTTP.send(.get, self.serve.url("/v1/audit/as-of?case=\(id)&position=\(position)"), token: self.token)
    }
}

extension String {
    fileprivate var trimmed: String { self.trimmingCharacters(in: .whitespacesAndNewlines) }
}
