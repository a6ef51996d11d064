import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Real `concord serve` processes on a PostgreSQL cluster of the suite's own, which the tests restart, stop and
/// start under them: everything must come back by itself, say 503 while it cannot serve, and stop when told.
/// Serialized: one fault at a time, and no other suite ever sees this cluster.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ResilienceTests {
    /// After `pg_ctl restart` (immediate: a crash for every client; fast: a clean disconnect) under a running
    /// process, a later command succeeds, a live process holds the projection lease and the projection reaches the
    /// log's head; `/readyz` is 200 again, and SIGTERM still stops the process.
    @Test(arguments: ["immediate", "fast"])
    func theProjectionCatchesUpAfterARestart(mode: String) async throws {
        try await withFaultRig("restart-\(mode)") { rig in
            let serve = try await rig.serve()
            defer { serve.discard() }
            _ = try await rig.lodge(on: serve)
            try await rig.waitForProjectionAtHead([serve])

            try await rig.cluster.cluster.restartServer(mode: mode)
            try await rig.lodgeOnceItWorks(on: serve, within: .seconds(20))
            try await rig.waitForProjectionAtHead([serve])
            #expect(try await rig.leaseHolders() == [serve.applicationName])
            try await poll(within: .seconds(10), "/readyz is 200") {
                try await HTTP.send(.get, serve.url("/readyz"), timeout: .seconds(5)).status == 200
            }
            try await rig.expectStopsOnSIGTERM(serve)
        }
    }

    /// PostgreSQL stopped for longer than the pool's connect timeout (10 s): `/readyz` says 503 and why, a command
    /// and a tracking lookup answer 503 with Retry-After within seconds; once it is back, commands succeed again,
    /// the projection catches up, `/readyz` is 200, and SIGTERM stops the process.
    @Test func anOutageLongerThanTheConnectTimeoutThenRecovery() async throws {
        try await withFaultRig("outage") { rig in
            let serve = try await rig.serve()
            defer { serve.discard() }
            let code = try await rig.lodge(on: serve)
            try await rig.waitForProjectionAtHead([serve])

            try await rig.cluster.cluster.stopServer(mode: "immediate")
            let stopped = ContinuousClock.now
            try await poll(within: .seconds(10), "/readyz is 503 during the outage") {
                try await HTTP.send(.get, serve.url("/readyz"), timeout: .seconds(5)).status == 503
            }
            // Through the whole outage, every answer is a quick, honest 503.
            while ContinuousClock.now - stopped < .seconds(12) {
                let ready = try await HTTP.send(.get, serve.url("/readyz"), timeout: .seconds(5))
                #expect(ready.status == 503)
                #expect(ready.body.contains("unreachable"), "\(ready.body)")
                let probes: [(HTTP.Method, String, String?)] = [
                    (.post, "/v1/complaints", Body.complaint), (.get, "/v1/track/\(code)", nil),
                ]
                for (method, path, body) in probes {
                    let started = ContinuousClock.now
                    let answer = try await HTTP.send(
                        method, serve.url(path), token: rig.tokens.office, body: body,
                        headers: ["Idempotency-Key": UUID().uuidString], timeout: .seconds(15))
                    #expect(answer.status == 503, "\(path): \(answer.status) \(answer.body)")
                    #expect(answer.headers["retry-after"] != nil, "\(path)")
                    #expect(answer.headers["content-type"] == "application/problem+json", "\(path)")
                    #expect(ContinuousClock.now - started < .seconds(8), "\(path) answered quickly")
                }
            }
            try await rig.cluster.cluster.startServer()
            try await rig.lodgeOnceItWorks(on: serve, within: .seconds(20))
            try await rig.waitForProjectionAtHead([serve])
            try await poll(within: .seconds(10), "/readyz is 200 after the outage") {
                try await HTTP.send(.get, serve.url("/readyz"), timeout: .seconds(5)).status == 200
            }
            try await rig.expectStopsOnSIGTERM(serve)
        }
    }

    /// SIGTERM during an outage, and SIGTERM after a short one: the process exits within 10 s, status 0.
    @Test func sigtermDuringAndAfterAnOutageExits() async throws {
        try await withFaultRig("sigterm") { rig in
            let during = try await rig.serve()
            defer { during.discard() }
            let after = try await rig.serve()
            defer { after.discard() }
            _ = try await rig.lodge(on: after)

            try await rig.cluster.cluster.stopServer(mode: "immediate")
            try await poll(within: .seconds(10), "/readyz is 503 during the outage") {
                try await HTTP.send(.get, during.url("/readyz"), timeout: .seconds(5)).status == 503
            }
            try await rig.expectStopsOnSIGTERM(during)

            try await rig.cluster.cluster.startServer()
            try await rig.lodgeOnceItWorks(on: after, within: .seconds(20))
            try await rig.expectStopsOnSIGTERM(after)
        }
    }

    /// SIGTERM while commands are in flight: each is answered (committed, or 503) and the process exits within 10 s.
    @Test func sigtermMidAppendAnswersEveryCommand() async throws {
        try await withFaultRig("midappend") { rig in
            let serve = try await rig.serve()
            defer { serve.discard() }
            let statuses = try await withThrowingTaskGroup(of: Int?.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        do {
                            return try await HTTP.send(
                                .post, serve.url("/v1/complaints"), token: rig.tokens.office, body: Body.complaint,
                                headers: ["Idempotency-Key": UUID().uuidString], timeout: .seconds(15)
                            ).status
                        } catch {
                            return nil  // refused at the door: the server had stopped taking connections
                        }
                    }
                }
                _ = try await rig.lodge(on: serve)
                serve.signal(SIGTERM)
                var statuses: [Int?] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.allSatisfy { $0 == nil || $0 == 201 || $0 == 503 }, "\(statuses)")
            #expect(await serve.waitForExit(within: .seconds(10)) == 0, "\(serve.log)")
        }
    }

    /// Two processes; PostgreSQL restarts (immediate) under them; then the lease holder is killed (SIGKILL). The
    /// other process takes the lease and the projection moves on.
    @Test func theSurvivorTakesTheLeaseAfterARestartAndAKill() async throws {
        try await withFaultRig("failover") { rig in
            let first = try await rig.serve()
            defer { first.discard() }
            let second = try await rig.serve()
            defer { second.discard() }
            let processes = [first, second]
            _ = try await rig.lodge(on: first)
            try await rig.waitForProjectionAtHead(processes)

            try await rig.cluster.cluster.restartServer(mode: "immediate")
            try await rig.lodgeOnceItWorks(on: second, within: .seconds(20))
            try await rig.waitForProjectionAtHead(processes)
            var holders = try await rig.leaseHolders()
            try #require(holders.count == 1, "one lease holder, not \(holders)")
            let leader = try #require(processes.first { $0.applicationName == holders.first })
            let survivor = try #require(processes.first { $0 !== leader })

            leader.signal(SIGKILL)
            #expect(await leader.waitForExit(within: .seconds(10)) != nil)
            try await rig.lodgeOnceItWorks(on: survivor, within: .seconds(10))
            try await poll(within: .seconds(15), "the survivor holds the lease") {
                holders = try await rig.leaseHolders()
                return holders == [survivor.applicationName]
            }
            try await rig.waitForProjectionAtHead(processes)
            try await rig.expectStopsOnSIGTERM(survivor)
        }
    }
}

/// One fault test's world: its own cluster and database, the demo reference data and tokens.
struct FaultRig: Sendable {
    let cluster: FaultCluster
    let settings: DatabaseSettings
    let tokens: Tokens

    func serve() async throws -> ServeNode {
        try await ServeNode.start(self.settings, environment: ["CONCORD_PROJECTION_STALL_SECONDS": "30"])
    }

    /// Lodges a complaint; returns its tracking code.
    @discardableResult
    func lodge(on serve: ServeNode) async throws -> String {
        let answer = try await HTTP.send(
            .post, serve.url("/v1/complaints"), token: self.tokens.office, body: Body.complaint,
            headers: ["Idempotency-Key": UUID().uuidString])
        try #require(answer.status == 201, "\(answer.status) \(answer.body)")
        let json = try JSONParser.parse(Array(answer.body.utf8))
        return try #require(json["id"]?.stringValue)
    }

    /// Lodges with one idempotency key until it is answered 201: the retries a clerk's client would make.
    func lodgeOnceItWorks(on serve: ServeNode, within deadline: Duration) async throws {
        let key = UUID().uuidString
        var last = "no answer"
        try await poll(within: deadline, "a command succeeds (last: \(last))") {
            guard
                let answer = try? await HTTP.send(
                    .post, serve.url("/v1/complaints"), token: self.tokens.office, body: Body.complaint,
                    headers: ["Idempotency-Key": key], timeout: .seconds(10))
            else { return false }
            last = "\(answer.status) \(answer.body)"
            return answer.status == 201
        }
    }

    /// Waits until the `cases` projection's checkpoint is the log's head (read afresh on each check).
    func waitForProjectionAtHead(
        _ processes: [ServeNode] = [], within deadline: Duration = .seconds(15)
    ) async throws {
        var seen = "nothing read"
        try await poll(
            within: deadline,
            "the projection reaches the log's head (\(seen))\n\(processes.map { String($0.log.suffix(4000)) })"
        ) {
            guard let (checkpoint, head) = try? await self.progress() else { return false }
            seen = "checkpoint \(checkpoint), head \(head)"
            return checkpoint == head
        }
    }

    func progress() async throws -> (checkpoint: Int64, head: Int64) {
        try await PostgresClient.withRunning(self.settings.owner, logger: TestDatabases.logger) { client in
            let rows = try await client.query(
                """
                SELECT (SELECT position FROM projection.checkpoints WHERE name = 'cases'),
                       (SELECT coalesce(max(position), 0) FROM events)
                """, logger: TestDatabases.logger)
            for try await (checkpoint, head) in rows.decode((Int64?, Int64).self) { return (checkpoint ?? 0, head) }
            return (0, 0)
        }
    }

    /// The `application_name` of each session holding the projection lease (its advisory lock).
    func leaseHolders() async throws -> [String] {
        try await PostgresClient.withRunning(self.settings.owner, logger: TestDatabases.logger) { client in
            let rows = try await client.query(
                """
                SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid,
                       (SELECT hashtextextended('concord projection cases', 0) AS key) k
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid
                """, logger: TestDatabases.logger)
            var names: [String] = []
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
    }

    func expectStopsOnSIGTERM(_ serve: ServeNode) async throws {
        serve.signal(SIGTERM)
        let status = await serve.waitForExit(within: .seconds(10))
        #expect(status == 0, "SIGTERM: exit status \(status.map(String.init) ?? "none within 10 s")\n\(serve.log)")
    }
}

/// Makes the rig (cluster, database, reference data, tokens), runs `body`, and always removes the cluster.
func withFaultRig(_ name: String, _ body: (FaultRig) async throws -> Void) async throws {
    let cluster = try await FaultCluster.start(name)
    defer { cluster.destroy() }
    let settings = try await cluster.database("concord")
    let imported = try await runProcess(
        concordExecutable, ["reference", "import", demoReference.path],
        environment: ServeNode.serveEnvironment(settings))
    try #require(imported.status == 0, "\(imported.output)")
    try await body(FaultRig(cluster: cluster, settings: settings, tokens: try await Tokens.make(settings)))
}

extension ServeNode {
    /// The name its database sessions carry (see `Serve`).
    var applicationName: String { "concord serve \(self.processIdentifier)" }
}

/// An outage longer than a minute trips the pool's circuit breaker, after which PostgresNIO retries at most once a
/// minute: the process exits (status 1) within seconds of the database answering again, for systemd to start it
/// afresh, and the fresh process serves at once. Its own suite: it takes more than a minute.
@Suite(.serialized, .timeLimit(.minutes(5))) struct LongOutageTests {
    @Test func aLongOutageEndsInAFreshStartOnceTheDatabaseIsBack() async throws {
        try await withFaultRig("long-outage") { rig in
            let serve = try await rig.serve()
            defer { serve.discard() }
            _ = try await rig.lodge(on: serve)

            try await rig.cluster.cluster.stopServer(mode: "immediate")
            let stopped = ContinuousClock.now
            // Through the outage the process stays up and says it is not ready.
            while ContinuousClock.now - stopped < .seconds(70) {
                let ready = try await HTTP.send(.get, serve.url("/readyz"), timeout: .seconds(5))
                #expect(ready.status == 503, "\(ready.body)")
                #expect(!serve.hasExited)
            }
            try await rig.cluster.cluster.startServer()
            let started = ContinuousClock.now
            let status = await serve.waitForExit(within: .seconds(20))
            #expect(status == 1, "\(serve.log.suffix(3000))")
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(serve.log.contains("the connection pool has given up"))

            let fresh = try await rig.serve()
            defer { fresh.discard() }
            _ = try await rig.lodge(on: fresh)
            try await rig.waitForProjectionAtHead([fresh])
            try await rig.expectStopsOnSIGTERM(fresh)
        }
    }
}
