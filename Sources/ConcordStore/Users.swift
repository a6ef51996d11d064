import ConcordCore
import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import PostgresNIO

/// A person with an account: signs in, and is named by the events they cause.
public struct User: Sendable, Hashable {
    public var id: UUID
    /// Shown as typed, unique without regard to case; never changes (events name the user by it).
    public var login: String
    public var name: String
    public var role: Role
    /// The office, programme (or service type) or area code the user acts for; nil for auditors and admins.
    public var scope: String?
    /// A programme's designated focal point for sensitive complaints.
    public var focalPoint: Bool
    public var active: Bool
    public var createdAt: Date
    public var updatedAt: Date

    /// How the user appears in metadata and officer fields.
    public var identity: SignedInUser { SignedInUser(id: self.id, login: self.login, name: self.name) }
}

/// What to change of a user; nil leaves a member as it is. `scope` is set (to nil too) when `changesScope`.
public struct UserChanges: Sendable, Hashable {
    public var name: String?
    public var role: Role?
    public var scope: String?
    public var changesScope = false
    public var focalPoint: Bool?
    public var password: String?
    public var active: Bool?

    public init() {}
}

/// Why a user was not created or changed: the field at fault, or a conflict.
public enum UserRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid([FieldProblem])
    /// Another user has this login (in any case).
    case loginTaken(String)
    case notFound(String)
    /// A stored row names a role this binary does not know.
    case unknownStoredRole(String)

    public var description: String {
        switch self {
        case .invalid(let problems): problems.map(\.description).joined(separator: "; ")
        case .loginTaken(let login): "login: another user has the login \(login)"
        case .notFound(let user): "no user \(user)"
        case .unknownStoredRole(let role): "users holds a user with unknown role \(role): is this binary older?"
        }
    }
}

/// bcrypt, off the event loop (each hash takes tens to hundreds of milliseconds, by design).
public enum Passwords {
    /// The fewest and most UTF-8 bytes of a password (bcrypt reads no more than 72).
    public static let lengths = 10...72

    public static func hash(_ password: String, cost: UInt8) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public static func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// What is wrong with `password`, or nil.
    public static func problem(_ password: String) -> String? {
        let bytes = password.utf8.count
        if bytes < Self.lengths.lowerBound { return "must have at least \(Self.lengths.lowerBound) characters" }
        if bytes > Self.lengths.upperBound { return "must have at most \(Self.lengths.upperBound) bytes in UTF-8" }
        if password.utf8.contains(0) { return "must not contain a NUL character" }
        return nil
    }
}

/// Users in `users` (sql/0011_users_and_sessions.sql): created, changed and deactivated by admins (over the API or
/// with `concord user`), never deleted, so that the logins events name stay known.
public struct UserStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// bcrypt's cost (log2 of its rounds): 12 by default; tests use less.
    public let bcryptCost: UInt8

    public init(client: PostgresClient, logger: Logger, bcryptCost: UInt8 = 12) {
        self.client = client
        self.logger = logger
        self.bcryptCost = bcryptCost
    }

    static let columns = "id, login, display_name, role, scope, focal_point, active, created_at, updated_at"

    /// Creates a user, checking every field (the scope against `catalog`, as `concord token create` does).
    public func create(
        login: String, name: String, role: Role, scope: String?, focalPoint: Bool, password: String,
        catalog: ReferenceCatalog
    ) async throws -> User {
        var problems: [FieldProblem] = []
        if let problem = Self.loginProblem(login) { problems.append(.init(field: "login", reason: problem)) }
        problems += Self.problems(name: name, role: role, scope: scope, focalPoint: focalPoint, catalog: catalog)
        if let problem = Passwords.problem(password) { problems.append(.init(field: "password", reason: problem)) }
        guard problems.isEmpty else { throw UserRefusal.invalid(problems) }
        let hash = try await Passwords.hash(password, cost: self.bcryptCost)
        do {
            let rows = try await self.client.query(
                """
                INSERT INTO users (id, login, display_name, role, scope, focal_point, password_hash)
                VALUES (\(UUID()), \(login), \(name), \(role.rawValue), \(scope), \(focalPoint), \(hash))
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            guard let user = try await Self.users(rows).first else { throw UserRefusal.notFound(login) }
            self.logger.info("created user", metadata: ["login": "\(login)", "role": "\(role.rawValue)"])
            return user
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw UserRefusal.loginTaken(login)
        }
    }

    /// Changes a user. A new password or a deactivation ends the user's sessions, on every node.
    public func update(_ id: UUID, _ changes: UserChanges, catalog: ReferenceCatalog) async throws -> User {
        guard var user = try await self.find(id) else { throw UserRefusal.notFound(id.uuidString.lowercased()) }
        user.name = changes.name ?? user.name
        if let role = changes.role {
            user.role = role
            if !changes.changesScope && !role.needsScope { user.scope = nil }
        }
        if changes.changesScope { user.scope = changes.scope }
        user.focalPoint = changes.focalPoint ?? (user.role == .programme && user.focalPoint)
        user.active = changes.active ?? user.active
        var problems = Self.problems(
            name: user.name, role: user.role, scope: user.scope, focalPoint: user.focalPoint, catalog: catalog)
        if let password = changes.password, let problem = Passwords.problem(password) {
            problems.append(.init(field: "password", reason: problem))
        }
        guard problems.isEmpty else { throw UserRefusal.invalid(problems) }
        let hash = try await changes.password.asyncMap { try await Passwords.hash($0, cost: self.bcryptCost) }
        let endsSessions = hash != nil || !user.active
        let saved = user
        let logger = self.logger
        return try await self.client.withConnection { connection in
            try await connection.withCheckedTransaction(logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    UPDATE users SET display_name = \(saved.name), role = \(saved.role.rawValue), scope = \(saved.scope),
                        focal_point = \(saved.focalPoint), active = \(saved.active),
                        password_hash = coalesce(\(hash), password_hash), updated_at = now()
                    WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                    """, logger: logger)
                guard let updated = try await Self.users(rows).first else {
                    throw UserRefusal.notFound(id.uuidString.lowercased())
                }
                if endsSessions {
                    try await connection.execute(
                        "UPDATE sessions SET ended_at = now() WHERE user_id = \(id) AND ended_at IS NULL",
                        logger: logger)
                }
                return updated
            }
        }
    }

    public func find(_ id: UUID) async throws -> User? {
        let rows = try await self.client.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)", logger: self.logger)
        return try await Self.users(rows).first
    }

    /// The user with `login`, in any case.
    public func find(login: String) async throws -> User? {
        let rows = try await self.client.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE lower(login) = lower(\(login))", logger: self.logger)
        return try await Self.users(rows).first
    }

    /// Every user, by login.
    public func list() async throws -> [User] {
        let rows = try await self.client.query(
            "SELECT \(unescaped: Self.columns) FROM users ORDER BY lower(login)", logger: self.logger)
        return try await Self.users(rows)
    }

    static func users(_ rows: PostgresRowSequence) async throws -> [User] {
        var users: [User] = []
        let columns = (UUID, String, String, String, String?, Bool, Bool, Date, Date).self
        for try await (id, login, name, role, scope, focal, active, created, updated) in rows.decode(columns) {
            guard let role = Role(rawValue: role) else { throw UserRefusal.unknownStoredRole(role) }
            users.append(
                User(
                    id: id, login: login, name: name, role: role, scope: scope, focalPoint: focal, active: active,
                    createdAt: created, updatedAt: updated))
        }
        return users
    }

    // MARK: Checks

    /// A login is one word: letters, digits and `.`, `_`, `@`, `-`, at most 64 characters, starting with a letter or
    /// a digit.
    public static func loginProblem(_ login: String) -> String? {
        let allowed = login.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._@-".unicodeScalars.contains(scalar))
        }
        guard (1...64).contains(login.count), allowed, let first = login.unicodeScalars.first,
            CharacterSet.alphanumerics.contains(first)
        else { return "must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit" }
        return nil
    }

    /// What is wrong with a user's name, role, scope and focal point flag; the scope as `concord token create`
    /// checks it: present exactly when the role needs one, and defined by the reference data for the role.
    public static func problems(
        name: String, role: Role, scope: String?, focalPoint: Bool, catalog: ReferenceCatalog
    ) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if name.allSatisfy(\.isWhitespace) || name.count > 200 {
            problems.append(.init(field: "name", reason: "must be 1 to 200 characters, not only spaces"))
        }
        return problems + TokenStore.problems(role: role, scope: scope, focalPoint: focalPoint, catalog: catalog)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
