import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

/// `concord token create`, as an operator runs it: a real process, its exit status and its one-line message.
@Suite(.timeLimit(.minutes(2))) struct TokenCommandTests {
    static let demoReference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/demo-reference.json").path

    @Test func aScopeMustBeOneTheReferenceDataDefinesForTheRole() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["LOG_LEVEL"] = "error"
        func concord(_ arguments: [String]) async throws -> (Int32, String) {
            try await runProcess(concordExecutable, arguments, environment: environment)
        }

        // Before any reference data, no scope is defined.
        var (status, output) = try await concord(["token", "create", "--role", "office", "--scope", "OFF-001"])
        #expect(status != 0 && output.contains("no office has the code OFF-001"), "\(output)")
        (status, output) = try await concord(["reference", "import", Self.demoReference])
        #expect(status == 0, "\(output)")

        let refused: [([String], String)] = [
            (["--role", "office", "--scope", "OFF-999"], "no office has the code OFF-999"),
            (["--role", "office", "--scope", "CCT"], "no office has the code CCT"),
            (["--role", "programme", "--scope", "NOPE"], "no programme or service type has the code NOPE"),
            (["--role", "programme", "--scope", "OFF-001"], "no programme or service type has the code OFF-001"),
            (["--role", "coordinator", "--scope", "D-99"], "no area has the code D-99"),
            (["--role", "coordinator", "--scope", "CCT"], "no area has the code CCT"),
        ]
        for (arguments, message) in refused {
            (status, output) = try await concord(["token", "create"] + arguments)
            #expect(status != 0, "\(arguments): \(output)")
            #expect(output.contains(message), "\(arguments): \(output)")
            let lines = output.split(separator: "\n")
            #expect(lines.count == 1, "a one-line message: \(output)")
        }
        (status, output) = try await concord(["token", "list"])
        #expect(status == 0 && !output.contains("office "), "nothing was created: \(output)")

        let accepted: [[String]] = [
            ["--role", "office", "--scope", "OFF-001"], ["--role", "programme", "--scope", "CCT"],
            ["--role", "programme", "--scope", "LEGAL-AID"], ["--role", "coordinator", "--scope", "P-01"],
            ["--role", "auditor"],
        ]
        for arguments in accepted {
            (status, output) = try await concord(["token", "create"] + arguments)
            #expect(status == 0 && output.contains("concord_"), "\(arguments): \(output)")
        }
    }
}
