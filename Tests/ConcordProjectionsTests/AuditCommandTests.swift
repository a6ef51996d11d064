import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// `concord audit` as an auditor runs it: a real process, exit status and one-line messages.
@Suite(.timeLimit(.minutes(2))) struct AuditCommandTests {
    @Test func verifyCheckpointAndTamperingFromTheCommandLine() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withStore(settings: settings) { store in try await appendLives(40, seed: 12, to: store) }
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["LOG_LEVEL"] = "error"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "concord-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (secret, public_, checkpoint) = (
            directory.appendingPathComponent("key").path, directory.appendingPathComponent("key.pub").path,
            directory.appendingPathComponent("checkpoint.json").path
        )
        func concord(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await runProcess(concordExecutable, arguments, environment: environment)
        }

        var result = try await concord(["audit", "keygen", "--private-key", secret, "--public-key", public_])
        #expect(result.status == 0, "\(result.output)")
        result = try await concord(["audit", "keygen", "--private-key", secret, "--public-key", public_])
        #expect(result.status != 0 && result.output.contains("refusing to overwrite"), "\(result.output)")
        result = try await concord(["audit", "checkpoint", "--key", secret, "--out", checkpoint])
        #expect(result.status == 0, "\(result.output)")
        result = try await concord(["audit", "verify", "--checkpoint", checkpoint, "--public-key", public_])
        #expect(result.status == 0 && result.output.contains("log is sound"), "\(result.output)")
        result = try await concord(["audit", "export", "--format", "cloudevents", "--from", "2", "--to", "4"])
        #expect(result.status == 0 && result.output.split(separator: "\n").count == 3, "\(result.output)")
        result = try await concord(["audit", "export", "--format", "xml"])
        #expect(result.status != 0 && result.output.contains("ndjson or cloudevents"), "\(result.output)")

        try await tamper(settings) { client in
            try await client.execute(
                #"UPDATE events SET payload = '{"edited":true}' WHERE position = 7"#, logger: TestDatabases.logger)
        }
        result = try await concord(["audit", "verify"])
        #expect(result.status != 0, "\(result.output)")
        #expect(result.output.contains("log is NOT sound at position 7"), "\(result.output)")
    }
}
