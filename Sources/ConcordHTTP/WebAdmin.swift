import ConcordCore
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// `/admin/users`: admins list, create and change the people who sign in, through the same `UserStore` calls and
/// refusals as `/v1/users`. Tokens are in WebAdminTokens.swift.
struct WebAdmin: Sendable {
    let web: WebController
    let users: UserStore
    let tokens: TokenStore

    static let userFields = ["login", "name", "role", "scope", "focal_point", "password", "active"]

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("admin/users") { request, context in
            try await self.web.serve(.users, request, context) { visit, _ in
                try await self.usersPage(visit, form: WebForm(encoded: ""), problem: nil)
            }
        }
        router.post("admin/users") { request, context in
            try await self.web.serve(.users, request, context) { visit, _ in try await self.create(request, visit) }
        }
        router.get("admin/users/:id") { request, context in
            try await self.web.serve(.users, request, context) { visit, _ in
                guard let id = Self.userID(context) else { return self.web.notFound(visit) }
                return try await self.userPage(id, visit, form: nil, problem: nil)
            }
        }
        router.post("admin/users/:id") { request, context in
            try await self.web.serve(.users, request, context) { visit, principal in
                guard let id = Self.userID(context) else { return self.web.notFound(visit) }
                return try await self.change(request, id, visit, principal)
            }
        }
        self.addTokenRoutes(to: router)
    }

    /// The user id of the path; nil when it is no id (the page then says there is nothing here).
    static func userID(_ context: ConcordRequestContext) -> UUID? {
        context.parameters.get("id").flatMap { UUID(uuidString: $0) }
    }

    // MARK: The list and the creation form

    func usersPage(_ visit: WebController.Visit, form: WebForm, problem: Problem?) async throws -> Response {
        let users = self.users
        let all = try await Problem.mapping { try await withDatabaseDeadline { try await users.list() } }
        let locale = visit.locale
        let rows: [[String: Any]] = all.map { user in
            [
                "id": user.id.uuidString.lowercased(), "login": user.login, "name": user.name,
                "role": locale.text("admin.role.\(user.role.rawValue)"), "scope": user.scope ?? "–",
                "focal_point": user.focalPoint, "active": user.active, "created": locale.day(Timestamp(user.createdAt)),
            ]
        }
        var data = Self.formData(form, problem: problem, locale: locale)
        data["users"] = rows
        return self.web.render("admin-users", title: "admin.users.title", visit, data, status: Self.status(problem))
    }

    /// What was typed (never the password), the role choices, and each refusal beside its field.
    static func formData(_ form: WebForm, problem: Problem?, locale: WebLocale) -> [String: Any] {
        let errors = WebController.fieldErrors(problem, form: Self.userFields)
        var values = form.values
        values["password"] = nil
        var data: [String: Any] = [
            "values": values, "errors": errors.byField, "has_errors": problem != nil,
            "roles": Role.allCases.map { role in
                [
                    "value": role.rawValue, "label": locale.text("admin.role.\(role.rawValue)"),
                    "selected": role.rawValue == form["role"],
                ] as [String: Any]
            },
            "focal_point": form["focal_point"] != nil,
        ]
        if let general = errors.general { data["error"] = general }
        return data
    }

    static func status(_ problem: Problem?) -> HTTPResponse.Status {
        guard let problem else { return .ok }
        return problem.statusCode == 409 ? .conflict : .unprocessableContent
    }

    func create(_ request: Request, _ visit: WebController.Visit) async throws -> Response {
        let form = try await WebForm.read(request)
        try self.web.requireCSRF(form, visit)
        do {
            let role = try Self.role(form)
            try await self.web.referenceReady()
            let (users, catalog) = (self.users, self.web.reference.data.catalog)
            // The password as typed: spaces are characters of a password.
            let password = form.values["password"] ?? ""
            let user = try await UserController.mapping {
                try await users.create(
                    login: form["login"] ?? "", name: form["name"] ?? "", role: role, scope: form["scope"],
                    focalPoint: form["focal_point"] != nil, password: password, catalog: catalog)
            }
            // The new user's page: it shows what was stored.
            return WebResponse.seeOther("/admin/users/\(user.id.uuidString.lowercased())")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 403 {
            return try await self.usersPage(visit, form: form, problem: problem)
        }
    }

    /// The role the form names; a refusal naming the field otherwise.
    static func role(_ form: WebForm) throws -> Role {
        guard let text = form["role"], let role = Role(rawValue: text) else {
            throw Problem(
                status: .unprocessableContent, title: "Invalid value",
                detail: "must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))", field: "role")
        }
        return role
    }

    // MARK: One user

    func userPage(
        _ id: UUID, _ visit: WebController.Visit, form: WebForm?, problem: Problem?
    ) async throws -> Response {
        let users = self.users
        guard let user = try await Problem.mapping({ try await withDatabaseDeadline { try await users.find(id) } })
        else { return self.web.notFound(visit) }
        let shown =
            form
            ?? WebForm(
                values: [
                    "name": user.name, "role": user.role.rawValue, "scope": user.scope ?? "",
                    "focal_point": user.focalPoint ? "yes" : "",
                ].filter { !$0.value.isEmpty })
        var data = Self.formData(shown, problem: problem, locale: visit.locale)
        data["id"] = id.uuidString.lowercased()
        data["login"] = user.login
        data["active"] = user.active
        return self.web.render("admin-user", title: "admin.user.title", visit, data, status: Self.status(problem))
    }

    /// The change form (name, role, scope, focal point) or the activation form (`active`): one merge of
    /// `UserChanges`, as `PATCH /v1/users/{id}` makes it.
    func change(
        _ request: Request, _ id: UUID, _ visit: WebController.Visit, _ principal: Principal
    ) async throws -> Response {
        let form = try await WebForm.read(request)
        try self.web.requireCSRF(form, visit)
        var changes = UserChanges()
        do {
            if let active = form["active"] {
                changes.active = active == "true"
                try UserController.refuseSelfDeactivation(principal, id: id, changes.active)
            } else {
                changes.name = form["name"] ?? ""
                changes.role = try Self.role(form)
                changes.changesScope = true
                changes.scope = form["scope"]
                changes.focalPoint = form["focal_point"] != nil
            }
            try await self.web.referenceReady()
            let (users, catalog) = (self.users, self.web.reference.data.catalog)
            _ = try await UserController.mapping { try await users.update(id, changes, catalog: catalog) }
            return WebResponse.seeOther("/admin/users/\(id.uuidString.lowercased())")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 403 {
            return try await self.userPage(id, visit, form: changes.active == nil ? form : nil, problem: problem)
        }
    }
}

extension WebForm {
    init(values: [String: String]) { self.values = values }
}
