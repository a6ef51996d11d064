import ConcordCore
import ConcordStore
import Foundation
import Hummingbird

/// `/v1/sessions`: people sign in with their login and password, ask who they are, and sign out. A session works
/// as a bearer secret (API clients) and as an `HttpOnly` cookie (browsers), on every node.
struct SessionController: Sendable {
    let sessions: SessionStore

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.post("v1/sessions") { request, context in try await self.signIn(request, context) }
        router.get("v1/sessions/current") { _, context in try self.current(context) }
        router.delete("v1/sessions/current") { request, context in try await self.signOut(request, context) }
    }

    func signIn(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let (_, body) = try await RequestBody.json(request, context: context)
        var reader = BodyReader(body, allowed: ["login", "password"])
        let login = reader.string("login", required: true) ?? ""
        let password = reader.string("password", required: true) ?? ""
        try reader.finish()
        let sessions = self.sessions
        // bcrypt runs on its own threads; the deadline covers the database, not a queue of slow hashes.
        let result = try await Problem.mapping {
            try await withDatabaseDeadline(.seconds(30)) { try await sessions.signIn(login: login, password: password) }
        }
        switch result {
        case .refused:
            throw Problem(
                status: .unauthorized, title: "Sign-in failed", detail: "the login or the password is wrong",
                field: "password")
        case .throttled(let wait):
            let seconds = max(
                1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up)))
            return Problem(
                status: .tooManyRequests, title: "Too many failed sign-ins",
                detail: "too many failed sign-ins for this login: try again in \(seconds) seconds", field: "login"
            ).response(retryAfter: seconds)
        case .signedIn(let secret, let principal):
            var members = Self.view(principal)
            members["token"] = .string(secret)
            var response = JSONResponse.make(.object(members), status: .created)
            response.headers[.location] = "/v1/sessions/current"
            response.setCookie(self.cookie(secret, secure: Self.overTLS(request)))
            return response
        }
    }

    /// Who the caller is: the user, role, scope and expiry of a session, or the same of an API token.
    func current(_ context: ConcordRequestContext) throws -> Response {
        let principal = try context.requirePrincipal()
        return JSONResponse.make(.object(Self.view(principal)), status: .ok)
    }

    /// Ends the caller's session on every node and clears the cookie. An API token is not a session: 404.
    func signOut(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard principal.user != nil else {
            throw Problem(
                status: .notFound, title: "Not found",
                detail:
                    "this request is authenticated by an API token, not a session; revoke tokens with concord token revoke"
            )
        }
        let sessions = self.sessions
        _ = try await Problem.mapping { try await withDatabaseDeadline { try await sessions.end(principal.tokenID) } }
        var response = Response(status: .noContent)
        response.setCookie(
            Cookie(
                name: AuthenticationMiddleware.cookie, value: "", maxAge: 0, path: "/", secure: Self.overTLS(request),
                httpOnly: true, sameSite: .lax))
        return response
    }

    func cookie(_ secret: String, secure: Bool) -> Cookie {
        Cookie(
            name: AuthenticationMiddleware.cookie, value: secret,
            maxAge: Int(self.sessions.settings.sessionLifetime.components.seconds), path: "/", secure: secure,
            httpOnly: true, sameSite: .lax)
    }

    /// Whether the browser reached us over TLS: directly, or through a proxy that says so.
    static func overTLS(_ request: Request) -> Bool {
        if request.head.scheme == "https" { return true }
        let forwarded = request.headers.first { $0.name.canonicalName == "x-forwarded-proto" }?.value
        return forwarded?.lowercased().split(separator: ",").first?.trimmingCharacters(in: .whitespaces) == "https"
    }

    static func view(_ principal: Principal) -> JSONObject {
        var members: JSONObject = [
            "kind": .string(principal.user == nil ? "token" : "session"),
            "role": .string(principal.role.rawValue), "scope": principal.scope.map(JSONValue.string) ?? .null,
            "focal_point": .bool(principal.focalPoint), "actor": .string(principal.metadataActor),
            "expires_at": principal.expiresAt.map { .string(Timestamp($0).rfc3339) } ?? .null,
        ]
        if let user = principal.user {
            members["user"] = .object([
                "id": .string(user.id.uuidString.lowercased()), "login": .string(user.login),
                "name": .string(user.name),
            ])
        } else {
            members["label"] = principal.label.map(JSONValue.string) ?? .null
            members["owner"] = principal.owner.map(JSONValue.string) ?? .null
        }
        return members
    }
}
