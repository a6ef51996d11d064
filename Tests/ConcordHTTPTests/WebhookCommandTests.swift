import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

/// `concord webhook`, as an operator runs it: a real process, its exit status and its one-line messages.
@Suite(.timeLimit(.minutes(3))) struct WebhookCommandTests {
    @Test func anOperatorManagesASubscriptionFromTheCommandLine() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["LOG_LEVEL"] = "error"
        func concord(_ arguments: [String]) async throws -> (Int32, String) {
            try await runProcess(concordExecutable, ["webhook"] + arguments, environment: environment)
        }

        let refused: [([String], String)] = [
            (["create", "--url", "mis.example/hook", "--role", "programme", "--scope", "CCT"], "url:"),
            (["create", "--url", "https://mis.example/hook", "--role", "programme"], "scope:"),
            (["create", "--url", "https://mis.example/hook", "--role", "coordinator", "--scope", "CCT"], "scope:"),
            (
                ["create", "--url", "https://mis.example/hook", "--role", "auditor", "--event-type", "lodged"],
                "event_types:"
            ),
            (["disable", "not-an-id"], "is not a webhook id"),
            (["enable", UUID().uuidString], "no such webhook subscription"),
        ]
        for (arguments, message) in refused {
            let (status, output) = try await concord(arguments)
            #expect(status != 0, "\(arguments): \(output)")
            #expect(output.contains(message), "\(arguments): \(output)")
            #expect(output.split(separator: "\n").count == 1, "a one-line message: \(output)")
        }
        var (status, output) = try await concord(["list"])
        #expect(status == 0 && output.isEmpty, "nothing was created: \(output)")

        (status, output) = try await concord([
            "create", "--url", "https://mis.example/hook", "--role", "programme", "--scope", "CCT",
            "--event-type", "org.concord.complaint.lodged", "--from-position", "1",
        ])
        #expect(status == 0 && output.contains("whsec_"), "\(output)")
        let id = try #require(output.split(separator: " ").dropFirst(2).first.map(String.init))
        (status, output) = try await concord(["list"])
        #expect(status == 0 && output.contains(id) && output.contains("active") && !output.contains("whsec_"))
        #expect(output.contains("position 0"), "\(output)")

        (status, output) = try await concord(["disable", id])
        #expect(status == 0 && output.contains("disabled"), "\(output)")
        (status, output) = try await concord(["enable", id])
        #expect(status == 0 && output.contains("enabled") && output.contains("active"), "\(output)")
        (status, output) = try await concord(["replay", id, "--from-position", "0"])
        #expect(status != 0 && output.contains("from_position"), "\(output)")
        (status, output) = try await concord(["replay", id, "--from-position", "5"])
        #expect(status == 0 && output.contains("position 4"), "\(output)")
        (status, output) = try await concord(["rotate", id, "--overlap", "2"])
        #expect(status == 0 && output.contains("whsec_") && output.contains("2 h"), "\(output)")
    }
}
