import ConcordCore
import ConcordStore
import Foundation
import Hummingbird

/// `/v1/users`: admins create, read, change and deactivate the people who sign in. Users are never deleted: the
/// events they caused name them.
struct UserController: Sendable {
    let users: UserStore
    let reference: ReferenceFollower

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/users") { _, context in try await self.list(context) }
        router.post("v1/users") { request, context in try await self.create(request, context) }
        router.get("v1/users/:id") { _, context in try await self.show(context) }
        router.patch("v1/users/:id") { request, context in try await self.change(request, context) }
        router.delete("v1/users/:id") { _, context in try await self.deactivate(context) }
    }

    func list(_ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let users = try await Self.mapping { try await withDatabaseDeadline { try await self.users.list() } }
        return JSONResponse.make(["users": .array(users.map(Self.view))], status: .ok)
    }

    func show(_ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let id = try Self.id(context)
        let found = try await Self.mapping { try await withDatabaseDeadline { try await self.users.find(id) } }
        guard let user = found else { throw Self.notFound }
        return JSONResponse.make(Self.view(user), status: .ok)
    }

    func create(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let (_, body) = try await RequestBody.json(request, context: context)
        var reader = BodyReader(body, allowed: ["login", "name", "role", "scope", "focal_point", "password"])
        let login = reader.string("login", required: true) ?? ""
        let name = reader.string("name", required: true) ?? ""
        let role = reader.role(required: true)
        let scope = reader.string("scope", required: false)
        let focalPoint = reader.bool("focal_point") ?? false
        let password = reader.string("password", required: true) ?? ""
        try reader.finish()
        guard let role else { throw Problem(status: .badRequest, title: "Invalid request body", detail: "role") }
        try await self.referenceReady()
        let catalog = self.reference.data.catalog
        let user = try await Self.mapping {
            try await self.users.create(
                login: login, name: name, role: role, scope: scope, focalPoint: focalPoint, password: password,
                catalog: catalog)
        }
        var response = JSONResponse.make(Self.view(user), status: .created)
        response.headers[.location] = "/v1/users/\(user.id.uuidString.lowercased())"
        return response
    }

    /// A merge patch: the members sent change, the others stay. `scope: null` removes the scope.
    func change(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try Self.requireAdmin(context)
        let id = try Self.id(context)
        let (_, body) = try await RequestBody.json(request, context: context)
        var reader = BodyReader(body, allowed: ["name", "role", "scope", "focal_point", "password", "active", "login"])
        var changes = UserChanges()
        changes.name = reader.string("name", required: false)
        changes.role = reader.role(required: false)
        changes.changesScope = body["scope"] != nil
        changes.scope = reader.string("scope", required: false)
        changes.focalPoint = reader.bool("focal_point")
        changes.password = reader.string("password", required: false)
        changes.active = reader.bool("active")
        if body["login"] != nil { reader.problem("login", "cannot be changed: events name the user by it") }
        try reader.finish()
        try Self.refuseSelfDeactivation(principal, id: id, changes.active)
        return try await self.apply(changes, to: id)
    }

    /// DELETE deactivates: the user can no longer sign in and their sessions end, on every node.
    func deactivate(_ context: ConcordRequestContext) async throws -> Response {
        let principal = try Self.requireAdmin(context)
        let id = try Self.id(context)
        try Self.refuseSelfDeactivation(principal, id: id, false)
        var changes = UserChanges()
        changes.active = false
        return try await self.apply(changes, to: id)
    }

    private func apply(_ changes: UserChanges, to id: UUID) async throws -> Response {
        try await self.referenceReady()
        let catalog = self.reference.data.catalog
        let user = try await Self.mapping { try await self.users.update(id, changes, catalog: catalog) }
        return JSONResponse.make(Self.view(user), status: .ok)
    }

    private func referenceReady() async throws {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
    }

    static func refuseSelfDeactivation(_ principal: Principal, id: UUID, _ active: Bool?) throws {
        guard active == false, principal.user?.id == id else { return }
        throw Problem(
            status: .unprocessableContent, title: "Invalid value",
            detail: "active: you cannot deactivate yourself; ask another admin", field: "active")
    }

    // MARK: Views and errors

    static func view(_ user: User) -> JSONValue {
        [
            "id": .string(user.id.uuidString.lowercased()), "login": .string(user.login), "name": .string(user.name),
            "role": .string(user.role.rawValue), "scope": user.scope.map(JSONValue.string) ?? .null,
            "focal_point": .bool(user.focalPoint), "active": .bool(user.active),
            "created_at": .string(Timestamp(user.createdAt).rfc3339),
            "updated_at": .string(Timestamp(user.updatedAt).rfc3339),
        ]
    }

    @discardableResult
    static func requireAdmin(_ context: ConcordRequestContext) throws -> Principal {
        let principal = try context.requirePrincipal()
        guard principal.role == .admin else {
            throw Problem(status: .forbidden, title: "Not allowed", detail: "only admins manage users")
        }
        return principal
    }

    static let notFound = Problem(status: .notFound, title: "Not found", detail: "no such user")

    static func id(_ context: ConcordRequestContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw Self.notFound }
        return id
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await Problem.mapping(body)
        } catch let refusal as UserRefusal {
            switch refusal {
            case .invalid(let problems):
                var problem = Problem(
                    status: .unprocessableContent, title: "Invalid value", detail: refusal.description,
                    field: problems.first?.field)
                problem.errors = problems.map { .init(field: $0.field, reason: $0.reason) }
                throw problem
            case .loginTaken:
                throw Problem(status: .conflict, title: "Login taken", detail: refusal.description, field: "login")
            case .notFound:
                throw Self.notFound
            case .unknownStoredRole:
                throw refusal
            }
        }
    }
}

/// Reads the members of a JSON object body, collecting every problem (a missing, mistyped or unknown member) for
/// one 400 that names them all.
struct BodyReader {
    let body: JSONValue
    private(set) var problems: [Problem.FieldError] = []

    init(_ body: JSONValue, allowed: Set<String>) {
        self.body = body
        guard case .object(let members) = body else {
            self.problems.append(.init(field: "", reason: "the body must be a JSON object"))
            return
        }
        for key in members.keys where !allowed.contains(key) {
            self.problems.append(.init(field: key, reason: "is not a member of this request"))
        }
    }

    mutating func problem(_ field: String, _ reason: String) {
        self.problems.append(.init(field: field, reason: reason))
    }

    mutating func string(_ field: String, required: Bool) -> String? {
        switch self.body[field] {
        case .string(let text)?: return text
        case nil, .null?:
            if required { self.problem(field, "is required") }
            return nil
        default:
            self.problem(field, "must be a string")
            return nil
        }
    }

    mutating func bool(_ field: String) -> Bool? {
        switch self.body[field] {
        case .bool(let flag)?: return flag
        case nil: return nil
        default:
            self.problem(field, "must be true or false")
            return nil
        }
    }

    mutating func role(required: Bool) -> Role? {
        guard let text = self.string("role", required: required) else { return nil }
        guard let role = Role(rawValue: text) else {
            self.problem("role", "must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return role
    }

    func finish() throws {
        guard let first = self.problems.first else { return }
        var problem = Problem(
            status: .badRequest, title: "Invalid request body",
            detail: self.problems.map { $0.field.isEmpty ? $0.reason : "\($0.field): \($0.reason)" }
                .joined(separator: "; "),
            field: first.field)
        problem.errors = self.problems
        throw problem
    }
}
