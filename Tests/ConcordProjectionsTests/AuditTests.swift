import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import Crypto
import Foundation
import NIOCore
import PostgresNIO
import Testing

/// Appends `cases` random case lives (whole, one append each) after the reference data.
func appendLives(_ cases: Int, seed: UInt64, to store: EventStore) async throws {
    try await Workload.appendReference(to: store, at: Day.start)
    var rng = SeededRandom(seed: seed)
    for index in 0..<cases {
        var walk = CaseWalk(
            kind: CaseWalk.Kind.allCases[index % 3], id: "V-\(index)",
            start: Day.at(Double(index) / 10))
        let life = walk.life(&rng)
        if !life.isEmpty { _ = try await store.append(to: walk.stream, expectedVersion: .noStream, events: life) }
    }
}

/// Runs SQL as the owner, as an attacker with full database access would.
func tamper(_ settings: DatabaseSettings, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
    try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
        try await client.execute("ALTER TABLE events DISABLE TRIGGER USER", logger: TestDatabases.logger)
        try await body(client)
    }
}

@Suite(.timeLimit(.minutes(3))) struct AuditTests {
    @Test func verifyPassesOnARandomLogAndNamesAnIllegalSequenceOrAnUndecodablePayload() async throws {
        try await withStore { store, _ in
            try await appendLives(600, seed: 5, to: store)
            let sound = try await store.verify(checkStreams: true)
            #expect(sound.isSound, "\(String(describing: sound.problem))")
            #expect(sound.eventsChecked > 1_500)
            // A complaint cannot be closed before it was lodged: the service would never have written this.
            let bad = try await store.append(
                to: StreamName(type: Complaint.streamType, id: "X-1"), expectedVersion: .noStream,
                events: [Complaint.Event.closed(satisfaction: nil, at: Day.at(1)).eventData()])
            let report = try await store.verify(checkStreams: true)
            #expect(report.problem?.position == bad.firstPosition)
            #expect(
                report.problem?.reason.contains("ComplaintClosed cannot follow state none") == true,
                "\(String(describing: report.problem))")
            #expect(try await store.verify().isSound, "the chain itself is sound")
        }
        try await withStore { store, _ in
            try await appendLives(20, seed: 6, to: store)
            let bad = try await store.append(
                to: StreamName(type: Referral.streamType, id: "X-2"), expectedVersion: .noStream,
                events: [EventData(type: "ReferralCreated", payload: ["receiver": "HEALTH"])])
            let report = try await store.verify(checkStreams: true)
            #expect(report.problem?.position == bad.firstPosition)
            #expect(
                report.problem?.reason.hasPrefix("payload does not decode") == true,
                "\(String(describing: report.problem))")
        }
    }

    /// Bytes that are not JSON at all (or not UTF-8) are named as a fault at their position, not a database error.
    @Test func canonicalBytesThatAreNotJSONAreAFaultAtTheirPosition() async throws {
        for garbage in ["'\\xff00'::bytea", "convert_to('{not json', 'UTF8')"] {
            try await withStore { store, settings in
                try await appendLives(20, seed: 13, to: store)
                try await tamper(settings) { client in
                    try await client.execute(
                        PostgresQuery(unsafeSQL: "UPDATE events SET canonical = \(garbage) WHERE position = 9"),
                        logger: TestDatabases.logger)
                }
                let report = try await store.verify(checkStreams: true)
                #expect(report.problem?.position == 9, "\(garbage): \(String(describing: report.problem))")
                #expect(report.problem?.reason.contains("undecodable") == true)
            }
        }
    }

    @Test func aCheckpointCatchesATruncatedTail() async throws {
        try await withStore { store, settings in
            try await appendLives(60, seed: 7, to: store)
            let key = Curve25519.Signing.PrivateKey()
            let checkpoint = try await store.appendCheckpoint(key: key.rawRepresentation, at: Day.at(30))
            #expect(checkpoint.isSigned(by: key.publicKey))
            #expect(!checkpoint.isSigned(by: Curve25519.Signing.PrivateKey().publicKey))
            #expect(try await store.problem(with: checkpoint) == nil)
            #expect(try await store.verify(checkStreams: true).isSound, "checkpoint events are part of a sound log")
            let file = try #require(Checkpoint(json: try JSONParser.parse(CanonicalJSON.encode(checkpoint.json))))
            #expect(file == checkpoint)

            try await tamper(settings) { client in
                try await client.execute(
                    "DELETE FROM events WHERE position > \(checkpoint.position - 5)", logger: TestDatabases.logger)
            }
            #expect(
                try await store.verify().isSound, "what is left is a sound chain: only the checkpoint shows the cut")
            let problem = try await store.problem(with: checkpoint)
            #expect(problem?.contains("removed from its tail") == true, "\(String(describing: problem))")
        }
    }

    @Test func aCheckpointCatchesHistoryRewrittenWithTheChainRecomputed() async throws {
        try await withStore { store, settings in
            try await appendLives(60, seed: 8, to: store)
            let key = Curve25519.Signing.PrivateKey()
            let checkpoint = try await store.appendCheckpoint(key: key.rawRepresentation, at: Day.at(30))
            // The attacker edits one lodgement and recomputes every canonical form and hash after it.
            let all = try await store.readStored(after: 0, limit: 100_000)
            let target = try #require(all.first { $0.event.type == "ComplaintLodged" && $0.event.position > 20 })
            try await tamper(settings) { client in
                var previous = all[Int(target.event.position) - 2].hash
                for stored in all where stored.event.position >= target.event.position {
                    var event = stored.event
                    if event.position == target.event.position, case .object(var payload) = event.payload {
                        payload["description"] = "Rewritten"
                        event.payload = .object(payload)
                    }
                    let canonical = EventChain.canonicalBytes(of: event)
                    let hash = EventChain.hash(previous: previous, canonical: canonical)
                    previous = hash
                    let json = String(decoding: CanonicalJSON.encode(event.payload), as: UTF8.self)
                    try await client.execute(
                        """
                        UPDATE events SET canonical = \(ByteBuffer(bytes: canonical)), hash = \(ByteBuffer(bytes: hash)),
                                          payload = \(json)::jsonb
                        WHERE position = \(event.position)
                        """, logger: TestDatabases.logger)
                }
            }
            // A full recomputation fools the chain, but not the checkpoint the log holds: verify compares it with the
            // chain without any key, and names the checkpoint event's position.
            let report = try await store.verify(checkStreams: true)
            #expect(report.problem?.position == checkpoint.position + 1, "\(String(describing: report.problem))")
            #expect(
                report.problem?.reason.contains("the checkpoint says position \(checkpoint.position) has hash") == true,
                "\(String(describing: report.problem))")
            let problem = try await store.problem(with: checkpoint)
            #expect(problem?.contains("history up to it was rewritten") == true, "\(String(describing: problem))")
        }
    }

    /// An auditor's own few lines, sharing no code with Concord: SHA-256 over the previous hash and the exported
    /// canonical bytes, from 32 zero bytes.
    @Test func anExportLetsAnIndependentScriptRecomputeTheChain() async throws {
        try await withStore { store, _ in
            try await appendLives(100, seed: 9, to: store)
            let stored = try await store.readStored(after: 0, limit: 100_000)
            var previous = Data(count: 32)
            var lines = 0
            for line in stored.map({ AuditExport.ndjson.line($0) }) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                let canonical = try #require(Data(base64Encoded: object["canonical"] as? String ?? ""))
                var hasher = SHA256()
                hasher.update(data: previous)
                hasher.update(data: canonical)
                let digest = Data(hasher.finalize())
                #expect(digest.map { String(format: "%02x", $0) }.joined() == object["hash"] as? String)
                previous = digest
                lines += 1
            }
            #expect(lines == stored.count)
            #expect(Array(previous) == (try await store.head().hash))
            for (stored, line) in zip(stored.prefix(50), stored.prefix(50).map { AuditExport.cloudevents.line($0) }) {
                let event = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                #expect(event["specversion"] as? String == "1.0")
                #expect(event["id"] as? String == stored.event.id.uuidString.lowercased())
                #expect(event["type"] as? String == stored.event.type)
                #expect(event["source"] as? String == "/concord/\(stored.event.stream.type)/\(stored.event.stream.id)")
                #expect(event["concordhash"] as? String == stored.hash.hexString)
                #expect(event["concordposition"] as? Int == Int(stored.event.position))
            }
        }
    }

    /// During a random workload, what was known at chosen moments is recorded; replaying the log as of those
    /// positions later gives the same case states and the same indicators.
    @Test func asOfReproducesWhatWasKnownAtTheTime() async throws {
        try await withStore { store, settings in
            let logger = TestDatabases.logger
            try await Workload.appendReference(to: store, at: Day.start)
            var rng = SeededRandom(seed: 11)
            var walks = (0..<240).map {
                CaseWalk(kind: CaseWalk.Kind.allCases[$0 % 3], id: "S-\($0)", start: Day.at(Double($0) / 20))
            }
            var snapshots: [(position: Int64, views: [String: JSONValue], indicators: Indicators, at: Timestamp)] = []
            var round = 0
            while walks.contains(where: { !$0.finished }) {
                round += 1
                for index in walks.indices {
                    guard let events = walks[index].step(&rng) else { continue }
                    let version = walks[index].version - Int64(events.count)
                    _ = try await store.append(
                        to: walks[index].stream, expectedVersion: version == 0 ? .noStream : .exact(version),
                        events: events)
                }
                guard round % 3 == 1 else { continue }
                let position = try await catchUpProjections(client: store.client, store: store, logger: logger)
                let at = try #require(try await store.readStored(after: position - 1, limit: 1).first?.event.recordedAt)
                var views: [String: JSONValue] = [:]
                for id in ["S-0", "S-1", "S-2", "S-30", "S-31", "S-32"] {
                    views[id] = try await Self.view(id, store: store)
                }
                let indicators = try await Indicators.compute(
                    client: store.client, scope: .everything, grouping: .programme,
                    from: Timestamp(microsecondsSinceEpoch: 0),
                    to: at, now: at, logger: logger)
                snapshots.append((position, views, indicators, at))
            }
            #expect(snapshots.count >= 3)
            let recorded = snapshots
            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                let ownerStore = EventStore(client: owner, logger: logger)
                for snapshot in recorded {
                    for (id, view) in snapshot.views {
                        let replayed = try await AsOf.caseView(id: id, position: snapshot.position, store: ownerStore)
                        let state = replayed.flatMap { value -> JSONValue? in
                            guard case .object(let members) = value else { return nil }
                            return members.first { ["complaint", "appeal", "referral"].contains($0.key) }?.value
                        }
                        #expect(state == view, "\(id) at \(snapshot.position)")
                    }
                    let (position, at) = (snapshot.position, snapshot.at)
                    let replayed = try await withProjectionsAsOf(
                        position: position, client: owner, store: ownerStore, logger: logger
                    ) { tables in
                        try await Indicators.compute(
                            client: owner, tables: tables, scope: .everything, grouping: .programme,
                            from: Timestamp(microsecondsSinceEpoch: 0), to: at, now: at, logger: logger)
                    }
                    #expect(replayed.rows == snapshot.indicators.rows, "indicators at \(position)")
                }
                // The scratch schemas are gone; the live tables are as they were.
                let schemas = try await owner.query(
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection_as_of_%'", logger: logger)
                for try await count in schemas.decode(Int64.self) { #expect(count == 0) }
            }
        }
    }

    /// The state view of a case as the service loads it now (nil before it exists).
    static func view(_ id: String, store: EventStore) async throws -> JSONValue? {
        switch CaseWalk.Kind.allCases[Int(id.dropFirst(2)).map { $0 % 3 } ?? 0] {
        case .complaint: try await CaseRepository<Complaint>(store: store).load(id).state.map(Complaint.view)
        case .appeal: try await CaseRepository<Appeal>(store: store).load(id).state.map(Appeal.view)
        case .referral: try await CaseRepository<Referral>(store: store).load(id).state.map(Referral.view)
        }
    }
}
