import ArgumentParser
import ConcordCore
import ConcordStore
import Foundation
import PostgresNIO

/// `concord user`: the people who sign in. The CLI makes the first admin; admins then manage users over the API
/// too. Passwords come from standard input or a file, never from the command line (which `ps` shows everyone).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Create, change, deactivate, list and import the users who sign in.",
        subcommands: [Create.self, List.self, Change.self, Deactivate.self, Import.self])

    struct PasswordSource: ParsableArguments {
        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @Option(help: "Read the password from the first line of this file.")
        var passwordFile: String?

        /// The password, or nil when neither source was given.
        func read() throws -> String? {
            if self.passwordStdin && self.passwordFile != nil {
                throw ValidationFailure(message: "give --password-stdin or --password-file, not both")
            }
            if self.passwordStdin {
                guard let line = readLine(strippingNewline: true) else {
                    throw ValidationFailure(message: "--password-stdin: standard input is empty")
                }
                return line
            }
            guard let file = self.passwordFile else { return nil }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationFailure(message: "--password-file: cannot read \(file)")
            }
            return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user (the first admin, for one).")

        @Option(help: "The login: letters, digits, '.', '_', '@', '-'; unique in any case; never changes.")
        var login: String
        @Option(help: "The person's name, as events show it.")
        var name: String
        @Option(help: "What the user may do: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        var role: Role
        @Option(help: "The office, programme or area code the user acts for (office, programme, coordinator).")
        var scope: String?
        @Flag(help: "A programme's focal point for sensitive complaints (programme users only).")
        var focalPoint = false
        @OptionGroup var password: PasswordSource

        func run() async throws {
            guard let password = try self.password.read() else {
                throw ValidationFailure(message: "give the password with --password-stdin or --password-file")
            }
            let (login, name, role, scope, focal) = (self.login, self.name, self.role, self.scope, self.focalPoint)
            let user = try await withUsers { users, catalog in
                try await users.create(
                    login: login, name: name, role: role, scope: scope, focalPoint: focal, password: password,
                    catalog: catalog)
            }
            print("created user \(user.login) (\(describe(user)))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every user: login, name, role, scope, focal point, active (never password hashes).")

        func run() async throws {
            let users = try await withUsers { users, _ in try await users.list() }
            let rows = users.map { user in
                [
                    user.login, user.name, user.role.rawValue, user.scope ?? "-", user.focalPoint ? "yes" : "no",
                    user.active ? "yes" : "no", user.id.uuidString.lowercased(),
                ]
            }
            print(table(header: ["login", "name", "role", "scope", "focal", "active", "id"], rows: rows))
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change a user's name, role, scope, focal point or password, or activate them again.")

        @Argument(help: "The user's login.")
        var login: String
        @Option(help: "A new name.")
        var name: String?
        @Option(help: "A new role.")
        var role: Role?
        @Option(help: "A new scope code ('-' for none).")
        var scope: String?
        @Option(help: "Whether the user is a programme's focal point: true or false.")
        var focalPoint: Bool?
        @Flag(help: "Activate a deactivated user again.")
        var activate = false
        @OptionGroup var password: PasswordSource

        func run() async throws {
            var changes = UserChanges()
            changes.name = self.name
            changes.role = self.role
            if let scope = self.scope {
                changes.changesScope = true
                changes.scope = scope == "-" ? nil : scope
            }
            changes.focalPoint = self.focalPoint
            changes.password = try self.password.read()
            if self.activate { changes.active = true }
            let user = try await change(self.login, changes)
            print("changed user \(user.login) (\(describe(user)))")
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deactivate a user: they can no longer sign in, and their sessions end on every node.")

        @Argument(help: "The user's login.")
        var login: String

        func run() async throws {
            var changes = UserChanges()
            changes.active = false
            let user = try await change(self.login, changes)
            print("deactivated user \(user.login)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create the users of a JSON file that do not exist yet (by login); existing ones are left as they are.")

        @Argument(
            help: "A file {\"users\": [{\"login\", \"name\", \"role\", \"scope\"?, \"focal_point\"?, \"password\"}]}.")
        var file: String

        struct File: Decodable {
            struct Entry: Decodable {
                var login: String
                var name: String
                var role: String
                var scope: String?
                var focalPoint: Bool?
                var password: String

                enum CodingKeys: String, CodingKey {
                    case login, name, role, scope, password
                    case focalPoint = "focal_point"
                }
            }
            var users: [Entry]
        }

        func run() async throws {
            let file = try failingNow {
                try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: self.file)))
            }
            let (created, kept) = try await withUsers { users, catalog in
                var created = 0
                var kept = 0
                for entry in file.users {
                    guard let role = Role(rawValue: entry.role) else {
                        throw ValidationFailure(message: "\(entry.login): role \(entry.role) is not a role")
                    }
                    if try await users.find(login: entry.login) != nil {
                        kept += 1
                        continue
                    }
                    _ = try await users.create(
                        login: entry.login, name: entry.name, role: role, scope: entry.scope,
                        focalPoint: entry.focalPoint ?? false, password: entry.password, catalog: catalog)
                    created += 1
                }
                return (created, kept)
            }
            print("users: created \(created), already there \(kept)")
        }
    }
}

private func change(_ login: String, _ changes: UserChanges) async throws -> User {
    try await withUsers { users, catalog in
        guard let user = try await users.find(login: login) else { throw UserRefusal.notFound(login) }
        return try await users.update(user.id, changes, catalog: catalog)
    }
}

/// Runs `body` with a user store connected as the owner, on a migrated database, with the reference data the log
/// holds (scopes are checked against it); errors become one-line messages and exit status 1.
private func withUsers<T: Sendable>(
    _ body: @Sendable (UserStore, ReferenceCatalog) async throws -> T
) async throws -> T {
    let logger = makeLogger("concord")
    let settings = try failingNow { try SignInSettings.from(environment: ProcessInfo.processInfo.environment) }
    let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
    defer { bootstrap.stopClusterIfStarted() }
    return try await failing {
        _ = try await bootstrap.migrate(logger: logger)
        return try await PostgresClient.withRunning(bootstrap.settings.owner, logger: logger) { client in
            let reference = ReferenceData()
            try await reference.load(from: EventStore(client: client, logger: logger))
            return try await body(
                UserStore(client: client, logger: logger, bcryptCost: settings.bcryptCost), reference.catalog)
        }
    }
}

private func describe(_ user: User) -> String {
    var parts = ["role \(user.role.rawValue)"]
    if let scope = user.scope { parts.append("scope \(scope)") }
    if user.focalPoint { parts.append("focal point") }
    parts.append(user.active ? "active" : "deactivated")
    return parts.joined(separator: ", ")
}
