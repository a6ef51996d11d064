import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// `concord user` and `concord token` as an operator runs them: a real process, its exit status and its output.
@Suite(.serialized, .timeLimit(.minutes(3))) struct UserCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct CLI {
        var environment: [String: String]

        init(_ settings: DatabaseSettings) {
            self.environment = ProcessInfo.processInfo.environment
            self.environment["DATABASE_URL"] = databaseURL(for: settings.owner)
            self.environment["LOG_LEVEL"] = "error"
            self.environment["CONCORD_BCRYPT_COST"] = "4"
        }

        func run(_ arguments: [String]) async throws -> (Int32, String) {
            try await runProcess(concordExecutable, arguments, environment: self.environment)
        }

        /// `concord ARGUMENTS`, with `password` on its standard input.
        func run(_ arguments: [String], stdin password: String) async throws -> (Int32, String) {
            let command = ([concordExecutable.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
            return try await runProcess(
                URL(fileURLWithPath: "/bin/sh"), ["-c", "printf '%s\\n' '\(password)' | \(command)"],
                environment: self.environment)
        }
    }

    @Test func theCLIManagesUsersAndMakesTheFirstAdmin() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let cli = CLI(settings)
        var (status, output) = try await cli.run([
            "reference", "import", Self.root.appendingPathComponent("deploy/demo-reference.json").path,
        ])
        #expect(status == 0, "\(output)")

        (status, output) = try await cli.run(
            ["user", "create", "--login", "root", "--name", "First Admin", "--role", "admin", "--password-stdin"],
            stdin: "the first admin password")
        #expect(status == 0 && output.contains("created user root"), "\(output)")
        let passwordFile = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
        try "a clerk's password\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        (status, output) = try await cli.run([
            "user", "create", "--login", "clerk", "--name", "Fatou", "--role", "office", "--scope", "OFF-999",
            "--password-file", passwordFile.path,
        ])
        #expect(status != 0 && output.contains("no office has the code OFF-999"), "\(output)")
        #expect(output.split(separator: "\n").count == 1, "a one-line message: \(output)")
        (status, output) = try await cli.run(["user", "create", "--login", "x", "--name", "X", "--role", "auditor"])
        #expect(status != 0 && output.contains("--password-stdin or --password-file"), "\(output)")
        (status, output) = try await cli.run([
            "user", "create", "--login", "clerk", "--name", "Fatou", "--role", "office", "--scope", "OFF-001",
            "--password-file", passwordFile.path,
        ])
        #expect(status == 0, "\(output)")

        (status, output) = try await cli.run(["user", "set", "CLERK", "--name", "Fatou Ndiaye"])
        #expect(status == 0 && output.contains("changed user clerk"), "\(output)")
        (status, output) = try await cli.run(["user", "deactivate", "clerk"])
        #expect(status == 0, "\(output)")
        (status, output) = try await cli.run(["user", "list"])
        let clerkLine = output.split(separator: "\n").first { $0.hasPrefix("clerk") }.map(String.init) ?? ""
        #expect(clerkLine.contains("Fatou Ndiaye") && clerkLine.contains(" no "), "\(output)")
        #expect(!output.contains("$2b$"), "no hashes: \(output)")

        // The stored users sign in (the password from the file, without its newline) or not (deactivated).
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let sessions = SessionStore(client: client, logger: TestDatabases.logger)
            guard
                case .signedIn(_, let principal) = try await sessions.signIn(
                    login: "root", password: "the first admin password")
            else {
                Issue.record("the first admin cannot sign in")
                return
            }
            #expect(principal.role == .admin && principal.user?.name == "First Admin")
            guard case .refused = try await sessions.signIn(login: "clerk", password: "a clerk's password") else {
                Issue.record("a deactivated user signed in")
                return
            }
        }
    }

    @Test func demoUsersImportOnceWithOneUserPerRole() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let cli = CLI(settings)
        let file = Self.root.appendingPathComponent("deploy/demo-users.json").path
        var (status, output) = try await cli.run([
            "reference", "import", Self.root.appendingPathComponent("deploy/demo-reference.json").path,
        ])
        (status, output) = try await cli.run(["user", "import", file])
        #expect(status == 0 && output.contains("created 7"), "\(output)")
        (status, output) = try await cli.run(["user", "import", file])
        #expect(status == 0 && output.contains("created 0, already there 7"), "\(output)")
        (status, output) = try await cli.run(["user", "list"])
        for role in Role.allCases { #expect(output.contains(" \(role.rawValue) "), "\(role): \(output)") }
        #expect(output.contains("yes"), "a focal point: \(output)")
    }

    @Test func tokensHaveAnOwnerAndAnExpiry() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let cli = CLI(settings)
        var (status, output) = try await cli.run([
            "token", "create", "--role", "auditor", "--label", "warehouse export", "--owner", "m-and-e-warehouse",
            "--expires-in", "90d",
        ])
        #expect(status == 0 && output.contains("owner m-and-e-warehouse"), "\(output)")
        (status, output) = try await cli.run(["token", "create", "--role", "auditor", "--expires-in", "soon"])
        #expect(status != 0 && output.contains("--expires-in"), "\(output)")
        (status, output) = try await cli.run(["token", "list"])
        #expect(output.contains("owner") && output.contains("expires") && output.contains("m-and-e-warehouse"))
        let expiry = Calendar(identifier: .gregorian).date(byAdding: .day, value: 90, to: Date())
        let day = try #require(expiry).formatted(.iso8601.year().month().day())
        #expect(output.contains(day), "expires in 90 days (\(day)): \(output)")
    }
}
