import ConcordCore
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// `/admin/tokens`: machines' API tokens, as `concord token` manages them (`TokenStore` and the same role and scope
/// rules as users): the list, issuing one (its secret shown once, on the answer to the form), revoking.
extension WebAdmin {
    static let tokenFields = ["role", "scope", "label", "owner", "focal_point", "expires_days"]

    func addTokenRoutes(to router: Router<ConcordRequestContext>) {
        router.get("admin/tokens") { request, context in
            try await self.web.serve(.tokens, request, context) { visit, _ in
                try await self.tokensPage(visit, form: WebForm(values: ["expires_days": "365"]), problem: nil)
            }
        }
        router.post("admin/tokens") { request, context in
            try await self.web.serve(.tokens, request, context) { visit, principal in
                try await self.issue(request, visit, principal)
            }
        }
        router.post("admin/tokens/:id/revoke") { request, context in
            try await self.web.serve(.tokens, request, context) { visit, _ in
                try await self.revoke(request, context, visit)
            }
        }
    }

    func tokensPage(
        _ visit: WebController.Visit, form: WebForm, problem: Problem?, issued: [String: Any]? = nil,
        status: HTTPResponse.Status? = nil
    ) async throws -> Response {
        let tokens = self.tokens
        let all = try await Problem.mapping { try await withDatabaseDeadline { try await tokens.list() } }
        let (locale, now) = (visit.locale, Date())
        let rows: [[String: Any]] = all.reversed().map { token in
            let principal = token.principal
            let state: String =
                if let revoked = token.revokedAt {
                    locale.text("admin.tokens.revoked") + " " + locale.day(Timestamp(revoked))
                } else if let expiry = principal.expiresAt, expiry <= now {
                    locale.text("admin.tokens.expired")
                } else { locale.text("admin.tokens.active") }
            return [
                "id": principal.tokenID.uuidString.lowercased(), "short": principal.metadataActor,
                "role": locale.text("admin.role.\(principal.role.rawValue)"), "scope": principal.scope ?? "–",
                "label": principal.label ?? "–", "owner": principal.owner ?? "–",
                "created": locale.day(Timestamp(token.createdAt)),
                "expires": principal.expiresAt.map { locale.day(Timestamp($0)) } ?? "–", "state": state,
                "revocable": token.revokedAt == nil && principal.expiresAt.map { $0 > now } != false,
            ]
        }
        var data = Self.formData(form, problem: problem, locale: visit.locale)
        let errors = WebController.fieldErrors(problem, form: Self.tokenFields)
        data["errors"] = errors.byField
        data["error"] = errors.general
        data["tokens"] = rows
        data["issued"] = issued
        return self.web.render(
            "admin-tokens", title: "admin.tokens.title", visit, data, status: status ?? Self.status(problem))
    }

    func issue(_ request: Request, _ visit: WebController.Visit, _ principal: Principal) async throws -> Response {
        let form = try await WebForm.read(request)
        try self.web.requireCSRF(form, visit)
        do {
            let role = try Self.role(form)
            try await self.web.referenceReady()
            var problems = TokenStore.problems(
                role: role, scope: form["scope"], focalPoint: form["focal_point"] != nil,
                catalog: self.web.reference.data.catalog)
            let days = Int(form["expires_days"] ?? "")
            if days.map({ (1...3_650).contains($0) }) != true {
                problems.append(.init(field: "expires_days", reason: "must be a whole number of days from 1 to 3650"))
            }
            if let problem = problems.first {
                var refusal = Problem(
                    status: .unprocessableContent, title: "Invalid value",
                    detail: problems.map(\.description).joined(separator: "; "), field: problem.field)
                refusal.errors = problems.map { .init(field: $0.field, reason: $0.reason) }
                throw refusal
            }
            let tokens = self.tokens
            // Who issued it answers for it unless the form names the system that uses it.
            let (scope, label, owner) = (form["scope"], form["label"], form["owner"] ?? principal.user?.login)
            let (created, secret) = try await Problem.mapping {
                try await withDatabaseDeadline {
                    try await tokens.create(
                        role: role, scope: scope, label: label, focalPoint: form["focal_point"] != nil, owner: owner,
                        expiresIn: .seconds(Int64(days ?? 365) * 86_400))
                }
            }
            // The secret is on this answer only (no-store, no redirect): it is not stored and cannot be shown again.
            let issued: [String: Any] = ["secret": secret, "id": created.tokenID.uuidString.lowercased()]
            return try await self.tokensPage(
                visit, form: WebForm(values: ["expires_days": "365"]), problem: nil, issued: issued, status: .created)
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 403 {
            return try await self.tokensPage(visit, form: form, problem: problem)
        }
    }

    func revoke(
        _ request: Request, _ context: ConcordRequestContext, _ visit: WebController.Visit
    ) async throws -> Response {
        let form = try await WebForm.read(request)
        try self.web.requireCSRF(form, visit)
        let tokens = self.tokens
        guard let id = UUID(uuidString: try context.parameters.require("id")) else { return self.web.notFound(visit) }
        let revoked = try await Problem.mapping { try await withDatabaseDeadline { try await tokens.revoke(id) } }
        guard revoked else {
            let problem = Problem(
                status: .conflict, title: "Not revoked",
                detail: visit.locale.text("admin.tokens.not_revoked"))
            return try await self.tokensPage(
                visit, form: WebForm(values: ["expires_days": "365"]), problem: problem, status: .conflict)
        }
        return WebResponse.seeOther("/admin/tokens")
    }
}
