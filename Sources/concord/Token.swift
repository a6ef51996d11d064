import ArgumentParser
import ConcordCore
import ConcordStore
import Foundation
import PostgresNIO

extension Role: ExpressibleByArgument {}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, revoke and list the bearer tokens that callers of the HTTP API present.",
        subcommands: [Create.self, Revoke.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print its secret, once: only its SHA-256 is stored.")

        @Option(help: "What the token may do: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        var role: Role

        @Option(help: "The office, programme or area code it acts for (office, programme and coordinator only).")
        var scope: String?

        @Option(help: "A note saying whose token it is.")
        var label: String?

        @Flag(help: "A programme's focal point for sensitive complaints (programme tokens only).")
        var focalPoint = false

        @Option(help: "Who answers for the token: a user's login, or the name of the system that uses it.")
        var owner: String?

        @Option(help: "How long the token works: a number and d, h, m or s (90d, 12h). Default: 365d.")
        var expiresIn: String = "365d"

        func run() async throws {
            let (role, scope, label, owner) = (self.role, self.scope, self.label, self.owner)
            let lifetime = try Self.duration(self.expiresIn)
            try await failing { try TokenStore.checkScope(scope, for: role) }
            if let owner, owner.allSatisfy(\.isWhitespace) {
                throw ValidationFailure(message: "--owner must say who answers for the token")
            }
            let (principal, secret) = try await withOwnerTokenStore { store, client in
                if let scope { try await Self.checkDefined(scope, for: role, client: client) }
                return try await store.create(
                    role: role, scope: scope, label: label, focalPoint: focalPoint, owner: owner, expiresIn: lifetime)
            }
            print("created token \(principal.tokenID.uuidString.lowercased()) (\(describe(principal)))")
            print(secret)
            print("the secret above will not be shown again: store it now")
        }

        /// `90d`, `12h`, `30m`, `3600s`: a positive whole number and its unit.
        static func duration(_ text: String) throws -> Duration {
            let units: [Character: Int64] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
            guard let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count > 0,
                count <= 3_650 * 86_400 / unit
            else {
                throw ValidationFailure(
                    message: "--expires-in takes a positive number and d, h, m or s (90d, 12h), not \(text)")
            }
            return .seconds(count * unit)
        }

        /// Refuses a scope the reference data in the log does not define for the role.
        static func checkDefined(_ scope: String, for role: Role, client: PostgresClient) async throws {
            let logger = makeLogger("concord")
            let reference = ReferenceData()
            try await reference.load(from: EventStore(client: client, logger: logger))
            if let problem = reference.catalog.scopeProblem(scope, for: role) {
                throw ValidationFailure(
                    message: "\(problem): import it first (concord reference import FILE) or check the code")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token for good: its secret no longer authenticates.")

        @Argument(help: "The token's id, as `concord token list` shows it.")
        var id: String

        func run() async throws {
            guard let id = UUID(uuidString: self.id) else {
                throw ValidationFailure(message: "\(self.id) is not a token id; `concord token list` shows them")
            }
            let revoked = try await withOwnerTokenStore { store, _ in try await store.revoke(id) }
            guard revoked else {
                throw ValidationFailure(
                    message: "no active token \(self.id): it does not exist or is already revoked")
            }
            print("revoked token \(id.uuidString.lowercased())")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "List every token: id, role, scope, label, owner, created, expires, revoked (never secrets or hashes).")

        func run() async throws {
            let tokens = try await withOwnerTokenStore { store, _ in try await store.list() }
            let rows = tokens.map { token in
                [
                    token.principal.tokenID.uuidString.lowercased(), token.principal.role.rawValue,
                    token.principal.scope ?? "-", token.principal.label ?? "-", token.principal.owner ?? "-",
                    token.createdAt.formatted(.iso8601), token.principal.expiresAt?.formatted(.iso8601) ?? "-",
                    token.revokedAt?.formatted(.iso8601) ?? "-",
                ]
            }
            print(
                table(
                    header: ["id", "role", "scope", "label", "owner", "created", "expires", "revoked"], rows: rows))
        }
    }
}

/// Runs `body` with a token store connected as the owner (only the owner may create and revoke tokens), on a
/// migrated database; errors become one-line messages and exit status 1.
private func withOwnerTokenStore<T: Sendable>(
    _ body: @Sendable (TokenStore, PostgresClient) async throws -> T
) async throws -> T {
    let logger = makeLogger("concord")
    let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
    defer { bootstrap.stopClusterIfStarted() }
    return try await failing {
        _ = try await bootstrap.migrate(logger: logger)
        return try await PostgresClient.withRunning(bootstrap.settings.owner, logger: logger) { client in
            try await body(TokenStore(client: client, logger: logger), client)
        }
    }
}

private func describe(_ principal: Principal) -> String {
    var parts = ["role \(principal.role.rawValue)"]
    if let scope = principal.scope { parts.append("scope \(scope)") }
    if let label = principal.label { parts.append("label \(label)") }
    if let owner = principal.owner { parts.append("owner \(owner)") }
    if let expiry = principal.expiresAt { parts.append("expires \(expiry.formatted(.iso8601))") }
    return parts.joined(separator: ", ")
}

/// Columns padded to their widest cell, two spaces apart.
func table(header: [String], rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { cells in
        zip(cells, widths).map { cell, width in cell.padding(toLength: width, withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
}
