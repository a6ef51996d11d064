import ConcordCore
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import Foundation
import Testing

/// The backup runbook of docs/operations.md, followed on a server of the test's own: WAL archiving, a base backup,
/// events and a signed checkpoint after it, more events after that; then a point-in-time restore into a fresh
/// cluster, to just after the checkpoint, and `concord audit verify --checkpoint` on what came back.
@Suite(.serialized, .timeLimit(.minutes(5))) struct BackupRestoreTests {
    @Test func aPointInTimeRestoreHoldsTheLogUpToTheLastSignedCheckpoint() async throws {
        // setup: a server that archives its WAL, a Concord log on it, a checkpoint key
        let directory = "/tmp/concord-backup-\(getpid())"
        let archive = directory + "/archive"
        try await LoopbackServer.makeDirectory(directory)
        try await LoopbackServer.makeDirectory(archive)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let origin = try await LoopbackServer.create(
            in: directory, name: "origin",
            settings: """
                archive_mode = on
                archive_command = 'test ! -f \(archive)/%f && cp %p \(archive)/%f'
                """)
        try await origin.start()
        defer { origin.stop() }
        try await origin.sql("CREATE DATABASE concord")
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = origin.url()
        environment["LOG_LEVEL"] = "error"
        func concord(_ arguments: [String], on server: LoopbackServer) async throws -> (status: Int32, output: String) {
            environment["DATABASE_URL"] = server.url()
            return try await runProcess(concordExecutable, arguments, environment: environment)
        }
        let (key, publicKey, checkpoint) = (
            directory + "/checkpoint.key", directory + "/checkpoint.pub", directory + "/checkpoint.json"
        )
        var result = try await concord(["migrate"], on: origin)
        try #require(result.status == 0, "\(result.output)")
        try await Self.appendCases(0..<20, to: origin, withReference: true)
        result = try await concord(["audit", "keygen", "--private-key", key, "--public-key", publicKey], on: origin)
        try #require(result.status == 0, "\(result.output)")

        // act: the base backup, events after it, a signed checkpoint, events after that, the WAL archived
        try await LoopbackServer.tool(
            "pg_basebackup",
            [
                "-h", "127.0.0.1", "-p", "\(origin.port)", "-U", "postgres", "-D", directory + "/base", "-X", "stream",
                "-c", "fast",
            ])
        try await Self.appendCases(20..<40, to: origin)
        result = try await concord(["audit", "checkpoint", "--key", key, "--out", checkpoint], on: origin)
        try #require(result.status == 0, "\(result.output)")
        let checkpointHead = try await origin.sql("SELECT max(position) FROM events", database: "concord")
        let target = try await origin.sql("SELECT now()::text").trimmingCharacters(in: .whitespacesAndNewlines)
        try await Self.appendCases(40..<60, to: origin)
        let fullHead = try await origin.sql("SELECT max(position) FROM events", database: "concord")
        let segment = try await origin.sql("SELECT pg_walfile_name(pg_switch_wal())")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try await poll(within: .seconds(30), "the WAL segment \(segment) is archived") {
            FileManager.default.fileExists(atPath: archive + "/" + segment)
        }

        // check: restored to just after the checkpoint, the log is whole up to it and holds nothing later
        let restored = try await LoopbackServer.restore(
            backup: directory + "/base", in: directory, name: "restored",
            settings: """
                archive_mode = off
                restore_command = 'cp \(archive)/%f %p'
                recovery_target_time = '\(target)'
                recovery_target_action = 'promote'
                """)
        try await restored.start()
        defer { restored.stop() }
        try await poll(within: .seconds(60), "the restored server ends recovery") {
            (try? await restored.sql("SELECT pg_is_in_recovery()")) == "f\n"
        }
        let restoredHead = try await restored.sql("SELECT max(position) FROM events", database: "concord")
        #expect(restoredHead == checkpointHead, "restored to the checkpoint: \(restoredHead) of \(fullHead)")
        #expect(restoredHead != fullHead)
        result = try await concord(
            ["audit", "verify", "--checkpoint", checkpoint, "--public-key", publicKey], on: restored)
        #expect(result.status == 0 && result.output.contains("log is sound"), "\(result.output)")
        #expect(result.output.contains("the log holds the checkpoint at position"), "\(result.output)")
        print(
            "restore: recovery_target_time \(target); log head \(restoredHead.trimmingCharacters(in: .newlines)) "
                + "restored of \(fullHead.trimmingCharacters(in: .newlines)) at the origin")
        print(
            "restore: concord audit verify --checkpoint checkpoint.json --public-key checkpoint.pub\n\(result.output)")
    }

    /// Random but legal case lives, one append each (and the reference data first, once).
    static func appendCases(_ range: Range<Int>, to server: LoopbackServer, withReference: Bool = false) async throws {
        try await withStore(settings: try server.settings()) { store in
            if withReference { try await Workload.appendReference(to: store, at: Day.start) }
            var rng = SeededRandom(seed: UInt64(range.lowerBound))
            for index in range {
                var walk = CaseWalk(
                    kind: CaseWalk.Kind.allCases[index % 3], id: "B-\(index)", start: Day.at(Double(index) / 10))
                let life = walk.life(&rng)
                if !life.isEmpty {
                    _ = try await store.append(to: walk.stream, expectedVersion: .noStream, events: life)
                }
            }
        }
    }
}
