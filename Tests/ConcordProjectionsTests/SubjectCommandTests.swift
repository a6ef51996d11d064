import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// `concord serve` refuses to start without the right master key; `concord subject` holds and erases, as an
/// operator runs it: a real process, exit status and one-line messages.
@Suite(.timeLimit(.minutes(2))) struct SubjectCommandTests {
    @Test func startUpNeedsTheMasterKeyAndSubjectsAreHeldAndErasedFromTheCommandLine() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
            let vault = PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: TestDatabases.logger)
            try await vault.checkMasterKey(using: client)
            try await withStore(settings: settings) { store in
                for id in ["C-SUBJ-001", "C-SUBJ-002"] {
                    try await Cases(store: store, vault: vault).complaint(
                        id, [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(0)))])
                }
            }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["LOG_LEVEL"] = "error"
        environment["CONCORD_PORT"] = "0"
        environment["CONCORD_MASTER_KEY"] = nil
        environment["CONCORD_MASTER_KEY_FILE"] = nil
        func concord(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> (Int32, String) {
            try await runProcess(
                concordExecutable, arguments, environment: environment.merging(extra) { _, new in new })
        }

        var (status, output) = try await concord(["serve"])
        #expect(status != 0 && output.contains("no master key: set CONCORD_MASTER_KEY_FILE"), "\(output)")
        (status, output) = try await concord(["serve"], ["CONCORD_MASTER_KEY": "short"])
        #expect(status != 0 && output.contains("64 hex digits or the base64 of 32 bytes"), "\(output)")
        (status, output) = try await concord(["serve"], ["CONCORD_MASTER_KEY": String(repeating: "01", count: 32)])
        #expect(status != 0 && output.contains("master key does not match"), "\(output)")
        #expect(output.split(separator: "\n").count <= 2, "a one-line message: \(output)")

        (status, output) = try await concord(["subject", "hold", "C-SUBJ-001", "--reason", "Court order 5"])
        #expect(status == 0 && output.contains("held: Court order 5"), "\(output)")
        (status, output) = try await concord([
            "subject", "erase", "C-SUBJ-001", "--reason", "Request 9", "--legal-basis", "DPA s.16",
        ])
        #expect(status != 0 && output.contains("under legal hold (Court order 5)"), "\(output)")
        (status, output) = try await concord(["subject", "release", "C-SUBJ-001", "--reason", "Order lifted"])
        #expect(status == 0, "\(output)")
        (status, output) = try await concord([
            "subject", "erase", "C-SUBJ-001", "--reason", "Request 9", "--legal-basis", "DPA s.16", "--by", "dpo",
        ])
        #expect(status == 0 && output.contains("erased, data key destroyed"), "\(output)")
        #expect(output.contains("PersonalDataErased  by dpo"), "\(output)")
        // The subject's stream shares the case's id; replaying the case as of now still reads the case alone.
        (status, output) = try await concord(["audit", "as-of", "--position", "100", "case", "C-SUBJ-001"])
        #expect(status == 0 && output.contains("\"lodged\""), "\(output)")
        (status, output) = try await concord(["subject", "show", "C-NOPE-000"])
        #expect(status != 0 && output.contains("no personal data was recorded for subject C-NOPE-000"), "\(output)")

        // Rotating the master key re-wraps the live keys (C-SUBJ-001's is destroyed); the old key then no longer
        // starts the service, the new one opens the details.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let newKey = directory.appendingPathComponent("master.key").path
        (status, output) = try await concord(["subject", "keygen", newKey])
        #expect(status == 0, "\(output)")
        let current = ["CONCORD_MASTER_KEY": TestDatabases.masterKeyText]
        // An export carries the sealed form; with the master key, each opened object beside it (erased: erased).
        (status, output) = try await concord(["audit", "export"])
        #expect(status == 0 && !output.contains("Fixture Person") && output.contains("\"sealed\""), "\(output)")
        (status, output) = try await concord(["audit", "export", "--unseal"], current)
        let lines = output.split(separator: "\n")
        #expect(status == 0, "\(output)")
        #expect(lines.contains { $0.contains("\"personal\":{\"complainant\":{\"name\":\"Fixture Person\"") })
        #expect(
            lines.contains { $0.contains("\"personal\":{\"complainant\":{\"erased\":true,\"subject\":\"C-SUBJ-001\"}") }
        )
        (status, output) = try await concord(["audit", "export", "--unseal"])
        #expect(status != 0 && output.contains("no master key"), "\(output)")
        (status, output) = try await concord(["subject", "rotate-master-key", "--new-key-file", newKey], current)
        #expect(status == 0 && output.contains("re-wrapped 1 data keys"), "\(output)")
        (status, output) = try await concord(["subject", "rotate-master-key", "--new-key-file", newKey], current)
        #expect(status != 0 && output.contains("master key does not match"), "\(output)")
        (status, output) = try await concord(["serve"], current)
        #expect(status != 0 && output.contains("master key does not match"), "\(output)")
        (status, output) = try await concord(["audit", "export", "--unseal"], current)
        #expect(status != 0 && output.contains("master key does not match"), "\(output)")
        let rotatedText = try String(contentsOfFile: newKey, encoding: .utf8)
        try await withStore(settings: settings) { store in
            let rotated = try #require(PersonalData.masterKey(text: rotatedText))
            let vault = PersonalDataVault(client: store.client, master: rotated, logger: TestDatabases.logger)
            try await vault.checkMasterKey(using: store.client)
            let loaded = try await CaseRepository<Complaint>(store: store, vault: vault).load("C-SUBJ-002")
            #expect(loaded.events.first?.payload["complainant"]?["name"] == "Fixture Person")
            // A process still holding the old key may not make data keys nobody could open after its restart.
            let stale = PersonalDataVault(
                client: store.client, master: TestDatabases.masterKey, logger: TestDatabases.logger)
            await #expect(throws: (any Error).self) {
                try await Cases(store: store, vault: stale).complaint(
                    "C-SUBJ-003", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(1)))])
            }
            try await Cases(store: store, vault: vault).complaint(
                "C-SUBJ-003", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(1)))])
        }
    }
}
