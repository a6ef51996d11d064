import ConcordCore
import ConcordStore
import ConcordTestSupport
@preconcurrency import Crypto
import Foundation
import PostgresNIO
import Testing

/// `concord serve` and `concord audit` as operators run them: real processes, signals, exit statuses.
@Suite(.timeLimit(.minutes(3))) struct ServeProcessTests {
    /// SIGTERM stops the server taking connections, but a request already in flight is answered and committed
    /// before the process exits 0. The request is held in flight by a lock on the log (its append waits on it),
    /// so that it is known to be inside the service when the signal comes.
    @Test func sigtermDrainsARequestInFlight() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let office = try await Tokens.create(settings, role: .office, scope: "OFF-001")
        let serve = try ServeProcess(environment: ServeProcess.environment(settings))
        try await serve.waitUntilListening()
        let logger = TestDatabases.logger
        let lockTaken = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                try await owner.withTransaction(logger: logger) { connection in
                    try await connection.query("LOCK TABLE events IN EXCLUSIVE MODE", logger: logger)
                    lockTaken.continuation.yield()
                    for await _ in release.stream { break }
                }
            }
        }
        for await _ in lockTaken.stream { break }
        let body = Body.complaint
        let connection = try RawConnection(port: serve.port)
        defer { connection.close() }
        try connection.send(
            "POST /v1/complaints HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(office)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                + body)
        try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
            try await poll("the request's append to wait on the lock", every: .milliseconds(20)) {
                let rows = try await owner.query(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'events'::regclass AND NOT granted",
                    logger: logger)
                for try await count in rows.decode(Int64.self) { return count > 0 }
                return false
            }
        }
        serve.signal(SIGTERM)
        // Shutting down: no new connection is taken...
        try await serve.waitUntilNotListening()
        // ...but the request in flight is still answered, and what it answered is in the log.
        release.continuation.yield()
        try await holder.value
        let answer = await connection.answer()
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(300))\n\(serve.output)")
        #expect(await serve.exitStatus() == 0, "\(serve.output)")
        let complaints = try await withStore(settings: settings) { store in
            try await store.readAll(after: 0, limit: 10_000).filter { $0.stream.type == "complaint" }.map(\.stream.id)
        }
        #expect(complaints.count == 1)
        if let id = complaints.first { #expect(answer.contains(id)) }
    }

    /// An erasure that stopped between its event and the key's destruction is finished by the next start.
    @Test func theNextStartFinishesAHalfDoneErasure() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let subject = try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
            let vault = PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: TestDatabases.logger)
            try await withStore(settings: settings) { store in
                try await Cases(store: store, vault: vault).complaint(
                    "C-HALF-001", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(0)))])
            }
            return "C-HALF-001"
        }
        try await appendErasureOnly(settings, subject: subject)
        #expect(try await Self.keyIsLive(settings, subject) == true)
        let serve = try ServeProcess(environment: ServeProcess.environment(settings))
        // The start checks the master key, finishes erasures, and only then listens.
        try await serve.waitUntilListening()
        #expect(try await Self.keyIsLive(settings, subject) == false, "\(serve.output)")
        serve.signal(SIGTERM)
        #expect(await serve.exitStatus() == 0, "\(serve.output)")
    }

    /// Two `serve` processes, each with its own checkpoint key, both running an interval of one second: the one
    /// that takes the projection lease signs on taking it and then every interval while the log moves; the other
    /// never signs. Every checkpoint in the log verifies with the signer's public key and holds.
    @Test func theLeaseHolderSignsCheckpointsAloneOnTakingTheLeaseAndEveryInterval() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let keys = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var serves: [ServeProcess] = []
        for (index, key) in keys.enumerated() {
            let file = directory.appendingPathComponent("checkpoint-\(index).key")
            try Data((key.rawRepresentation.base64EncodedString() + "\n").utf8).write(to: file)
            var environment = ServeProcess.environment(settings)
            environment["CONCORD_CHECKPOINT_KEY"] = file.path
            environment["CONCORD_CHECKPOINT_INTERVAL"] = "1"
            environment["LOG_LEVEL"] = "info"
            serves.append(try ServeProcess(environment: environment))
        }
        for serve in serves { try await serve.waitUntilListening() }
        let output = { serves.map(\.output).joined(separator: "\n---\n") }
        // The first checkpoint comes when the lease is taken, before anything else is appended.
        do {
            try await Self.waitForCheckpoint(settings, atLeast: 1)
        } catch {
            Issue.record("\(error): \(output())")
            throw error
        }
        let first = try #require(try await Self.checkpoints(settings).first)
        #expect(first.position == (try await Self.positionBefore(first, settings)), "signed the head when taken")
        // While the log moves, one more per interval.
        for round in 0..<2 {
            // The position of the event appended: the head may already be a checkpoint of it when read later.
            let head = try await withStore(settings: settings) { store in
                try await store.append(
                    to: StreamName(type: "complaint", id: "C-MOVE-\(round)"), expectedVersion: .noStream,
                    events: [
                        Complaint.Event.lodged(Cases.lodgement(programme: "CCT", at: Day.at(Double(round))))
                            .eventData(metadata: EventMetadata(actor: "test", role: "admin"))
                    ]
                ).lastPosition
            }
            do {
                try await Self.waitForCheckpoint(settings, atLeast: head)
            } catch {
                let stored = try await Self.checkpoints(settings).map(\.position)
                Issue.record("\(error); head \(head), checkpoints at \(stored): \(output().suffix(6_000))")
                throw error
            }
        }
        for serve in serves { serve.signal(SIGTERM) }
        for serve in serves { #expect(await serve.exitStatus() == 0, "\(serve.output)") }

        let checkpoints = try await Self.checkpoints(settings)
        #expect(checkpoints.count >= 3, "\(checkpoints.map(\.position))")
        let signers = Set(checkpoints.map(\.keyID))
        #expect(signers.count == 1, "one signer: \(signers)")
        let signer = try #require(keys.first { Checkpoint.keyID(of: $0.publicKey) == signers.first })
        for checkpoint in checkpoints {
            #expect(checkpoint.isSigned(by: signer.publicKey), "\(checkpoint.position)")
        }
        let problems = try await withStore(settings: settings) { store in
            var problems: [String] = []
            for checkpoint in checkpoints {
                if let problem = try await store.problem(with: checkpoint) { problems.append(problem) }
            }
            return problems
        }
        #expect(problems.isEmpty, "\(problems)")
    }

    /// A checkpoint key that cannot be read, or an interval that is not a positive number of seconds, stops the
    /// start with a one-line message and a non-zero status, before anything listens.
    @Test func startUpIsRefusedForABadCheckpointKeyOrInterval() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.key")
        try Data((Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString() + "\n").utf8).write(to: good)
        let garbage = directory.appendingPathComponent("garbage.key")
        try Data("not a key\n".utf8).write(to: garbage)
        for (key, interval, message) in [
            (directory.appendingPathComponent("missing.key").path, "60", "missing.key"),
            (garbage.path, "60", "garbage.key"),
            (good.path, "0", "CONCORD_CHECKPOINT_INTERVAL takes a positive number of seconds, not 0"),
            (good.path, "-5", "CONCORD_CHECKPOINT_INTERVAL takes a positive number of seconds, not -5"),
            (good.path, "hourly", "CONCORD_CHECKPOINT_INTERVAL takes a positive number of seconds, not hourly"),
        ] {
            var environment = ServeProcess.environment(settings)
            environment["CONCORD_CHECKPOINT_KEY"] = key
            environment["CONCORD_CHECKPOINT_INTERVAL"] = interval
            environment["CONCORD_PORT"] = "\(try freePort())"
            let (status, output) = try await runProcess(concordExecutable, ["serve"], environment: environment)
            #expect(status != 0, "\(key) \(interval): \(output)")
            #expect(output.contains(message), "\(key) \(interval): \(output)")
            #expect(output.split(separator: "\n").count <= 2, "a one-line message: \(output)")
        }
    }

    /// `verify --public-key` checks the checkpoints the log holds: one that claims the key's id but does not carry
    /// its signature is found; and the documented exit statuses (0 sound, 1 a fault, 64 bad options).
    @Test func verifyFindsAForgedCheckpointInTheLogAndExitsAsDocumented() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withStore(settings: settings) { store in try await appendLives(12, seed: 5, to: store) }
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["CONCORD_SERVICE_DATABASE_URL"] = databaseURL(for: settings.service)
        environment["LOG_LEVEL"] = "error"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (secret, publicKey, file) = (
            directory.appendingPathComponent("key").path, directory.appendingPathComponent("key.pub").path,
            directory.appendingPathComponent("checkpoint.json").path
        )
        func concord(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await runProcess(concordExecutable, arguments, environment: environment)
        }
        var result = try await concord(["audit", "keygen", "--private-key", secret, "--public-key", publicKey])
        #expect(result.status == 0, "\(result.output)")
        result = try await concord(["audit", "checkpoint", "--key", secret, "--out", file])
        #expect(result.status == 0, "\(result.output)")
        result = try await concord(["audit", "verify", "--checkpoint", file, "--public-key", publicKey])
        #expect(result.status == 0 && result.output.contains("log is sound"), "\(result.output)")
        #expect(result.output.contains("1 checkpoints in the log are signed by the key and hold"), "\(result.output)")

        // Bad options: 64, before anything is read.
        for options in [
            ["--from", "0"], ["--from", "5", "--to", "3"], ["--checkpoint", file],
        ] {
            result = try await concord(["audit", "verify"] + options)
            #expect(result.status == 64, "\(options): \(result.output)")
        }
        // A key file that cannot be read, or a database that cannot be reached: 1.
        result = try await concord([
            "audit", "verify", "--checkpoint", file, "--public-key", directory.appendingPathComponent("none").path,
        ])
        #expect(result.status == 1, "\(result.output)")
        var unreachable = environment
        unreachable["DATABASE_URL"] = "postgres://nobody@127.0.0.1:\(try freePort())/nothing?sslmode=disable"
        unreachable["CONCORD_SERVICE_DATABASE_URL"] = nil
        let offline = try await runProcess(concordExecutable, ["audit", "verify"], environment: unreachable)
        #expect(offline.status == 1, "\(offline.output)")

        // A checkpoint event that claims the key's id, for the real head and hash, signed by another key.
        let keyText = try String(contentsOfFile: publicKey, encoding: .utf8)
        let keyID = try Checkpoint.keyID(
            of: Curve25519.Signing.PublicKey(
                rawRepresentation: #require(
                    Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines)))))
        let forgedPosition = try await withStore(settings: settings) { store in
            let head = try await store.head()
            var forged = try Checkpoint.sign(
                position: head.position, hash: head.hash, at: Day.at(3), key: Curve25519.Signing.PrivateKey())
            forged.keyID = keyID
            _ = try await store.append(
                to: StreamName(type: Checkpoint.streamType, id: "checkpoint-\(head.position)"), expectedVersion: .any,
                events: [
                    EventData(
                        type: Checkpoint.eventType, payload: forged.json,
                        metadata: EventMetadata(actor: "concord:checkpoint", role: "system"))
                ])
            return head.position
        }
        // The chain itself is sound: only the key finds the forgery.
        result = try await concord(["audit", "verify"])
        #expect(result.status == 0, "\(result.output)")
        result = try await concord(["audit", "verify", "--checkpoint", file, "--public-key", publicKey])
        #expect(result.status == 1, "\(result.output)")
        #expect(
            result.output.contains(
                "the checkpoint in the log for position \(forgedPosition) does not carry a valid signature"),
            "\(result.output)")
    }

    static func keyIsLive(_ settings: DatabaseSettings, _ subject: String) async throws -> Bool? {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let rows = try await client.query(
                "SELECT wrapped_key IS NOT NULL FROM subject_keys WHERE subject = \(subject)",
                logger: TestDatabases.logger)
            for try await live in rows.decode(Bool.self) { return live }
            return nil
        }
    }

    /// Waits until the log holds a checkpoint of `position` or later.
    static func waitForCheckpoint(_ settings: DatabaseSettings, atLeast position: Int64) async throws {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            try await poll("a checkpoint of position \(position)", every: .milliseconds(50)) {
                let rows = try await client.query(
                    """
                    SELECT count(*) FROM events
                    WHERE stream_type = 'checkpoint' AND (payload ->> 'position')::bigint >= \(position)
                    """, logger: TestDatabases.logger)
                for try await count in rows.decode(Int64.self) { return count > 0 }
                return false
            }
        }
    }

    /// The checkpoints in the log, in log order.
    static func checkpoints(_ settings: DatabaseSettings) async throws -> [Checkpoint] {
        try await withStore(settings: settings) { store in try await store.checkpointsInLog() }
    }

    /// The position just before the event that holds `checkpoint`: the head it signed.
    static func positionBefore(_ checkpoint: Checkpoint, _ settings: DatabaseSettings) async throws -> Int64 {
        try await withStore(settings: settings) { store in
            let events = try await store.readAll(after: 0, limit: 100_000)
            let holder = events.first { $0.stream.type == Checkpoint.streamType }
            return (holder?.position ?? 0) - 1
        }
    }
}

func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}
