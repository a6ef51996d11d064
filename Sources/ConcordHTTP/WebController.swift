import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The web workspace: HTML pages at `/`, for people in a browser. Only a translation, like the API's controllers:
/// commands go through `CaseCommands`, reading through `AccessPolicy` and `ProjectionQueries`, sign-in through the
/// `SessionStore` and the session cookie of `/v1/sessions`. Not in `docs/openapi.yaml`: these are pages, not API.
struct WebController: Sendable {
    let sessions: SessionStore
    let complaints: CaseCommands<Complaint>
    let reference: ReferenceFollower
    let queries: ProjectionQueries
    let store: EventStore
    let limiter: RateLimiter
    let clock: WallClock
    let renderer: WebRenderer

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("/") { request, context in try await self.home(request, context) }
        router.get("static/concord.css") { _, _ in Self.stylesheet() }
        router.post("signin") { request, context in try await self.signIn(request, context) }
        router.post("signout") { request, context in try await self.signOut(request, context) }
        router.get("lang") { request, _ in Self.setLanguage(request) }
        router.get("track") { request, context in try await self.track(request, context) }
        router.get("complaints/find") { request, _ in Self.find(request) }
        self.addComplaintRoutes(to: router)
        self.addCaseKindRoutes(to: router)
    }

    static func stylesheet() -> Response {
        let css = WebAssets.files["concord.css"] ?? Data()
        var response = Response(
            status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(css))))
        response.headers[.cacheControl] = "public, max-age=3600"
        return response
    }

    // MARK: Pages

    /// What a page needs from the request: the language, and the signed-in user with the CSRF token of the session.
    struct Visit {
        var locale: WebLocale
        var principal: Principal?
        var csrf: String
        /// Served over TLS (directly or behind a proxy that says so): cookies are then `Secure`.
        var secure = false

        var common: [String: Any] {
            var data: [String: Any] = ["csrf": self.csrf]
            if let principal {
                data["user"] = [
                    "name": principal.user?.name ?? principal.metadataActor, "role": principal.role.rawValue,
                ]
                data["is_office"] = principal.role == .office
                data["is_programme"] = principal.role == .programme
                data["nav"] = WebPage.navigation(for: principal, locale: self.locale)
                data["can_refer"] = principal.role == .office || principal.role == .programme
            }
            return data
        }
    }

    func visit(_ request: Request, _ context: ConcordRequestContext) -> Visit {
        let locale = WebLocale.choose(
            cookie: request.cookies["lang"]?.value, acceptLanguage: request.headers[.acceptLanguage])
        let csrf: String
        if context.principal != nil, let secret = Self.sessionSecret(request) {
            csrf = CSRF.token(session: secret)
        } else {
            csrf = request.cookies[CSRF.cookie]?.value ?? ""
        }
        return Visit(
            locale: locale, principal: context.principal, csrf: csrf, secure: SessionController.overTLS(request))
    }

    /// The secret that authenticated the request: the session cookie, or a bearer (which a browser never sends on
    /// its own, so a form cannot be forged with it either).
    static func sessionSecret(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            return parts.count == 2 ? String(parts[1]) : nil
        }
        return request.cookies[AuthenticationMiddleware.cookie]?.value
    }

    func render(
        _ template: String, title: String, _ visit: Visit, _ data: [String: Any] = [:],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var merged = visit.common
        merged.merge(data) { _, new in new }
        let text = self.renderer.page(
            template, title: visit.locale.text(title), data: merged, locale: visit.locale)
        return WebResponse.html(text, status: status)
    }

    /// A page POST must carry the CSRF token of the visit (the session's, or before sign-in the cookie's).
    func requireCSRF(_ form: WebForm, _ visit: Visit) throws {
        guard CSRF.matches(form.values[CSRF.field], visit.csrf) else {
            throw Problem(
                status: .forbidden, title: CSRF.refusal,
                detail: "this form is missing its security token or is from another session: reload the page")
        }
    }

    /// The signed-in user, or nil: the page then answers with the sign-in form.
    func signedIn(_ visit: Visit) -> Principal? { visit.principal }

    func notFound(_ visit: Visit) -> Response {
        self.render(
            "message", title: "not_found.title", visit, ["message": visit.locale.text("not_found.text")],
            status: .notFound)
    }

    // MARK: Sign-in

    func home(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        var visit = self.visit(request, context)
        guard let principal = visit.principal else {
            return self.signInPage(&visit, login: "", error: nil, status: .ok)
        }
        let role = principal.role.rawValue
        return self.render("home", title: "home.title", visit, ["role_text": visit.locale.text("role.\(role)")])
    }

    /// The sign-in form; sets the pre-session CSRF cookie when the browser has none.
    func signInPage(_ visit: inout Visit, login: String, error: String?, status: HTTPResponse.Status) -> Response {
        var fresh: String?
        if visit.csrf.isEmpty {
            fresh = CSRF.fresh()
            visit.csrf = fresh ?? ""
        }
        var data: [String: Any] = ["login": login]
        if let error { data["error"] = error }
        var response = self.render("signin", title: "signin.title", visit, data, status: status)
        if let fresh {
            response.setCookie(
                Cookie(
                    name: CSRF.cookie, value: fresh, path: "/", secure: visit.secure, httpOnly: true, sameSite: .lax))
        }
        return response
    }

    func signIn(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        var visit = self.visit(request, context)
        visit.csrf = request.cookies[CSRF.cookie]?.value ?? ""
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        let login = form["login"] ?? ""
        let password = form.values["password"] ?? ""
        let sessions = self.sessions
        let result = try await Problem.mapping {
            try await withDatabaseDeadline(.seconds(30)) { try await sessions.signIn(login: login, password: password) }
        }
        switch result {
        case .refused:
            return self.signInPage(&visit, login: login, error: visit.locale.text("signin.refused"), status: .ok)
        case .throttled:
            return self.signInPage(
                &visit, login: login, error: visit.locale.text("signin.throttled"), status: .tooManyRequests)
        case .signedIn(let secret, _):
            var response = WebResponse.seeOther("/")
            response.setCookie(
                SessionController(sessions: self.sessions).cookie(secret, secure: SessionController.overTLS(request)))
            return response
        }
    }

    func signOut(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        if let principal = visit.principal, principal.user != nil {
            let sessions = self.sessions
            _ = try await Problem.mapping {
                try await withDatabaseDeadline { try await sessions.end(principal.tokenID) }
            }
        }
        var response = WebResponse.seeOther("/")
        response.setCookie(
            Cookie(
                name: AuthenticationMiddleware.cookie, value: "", maxAge: 0, path: "/",
                secure: SessionController.overTLS(request), httpOnly: true, sameSite: .lax))
        return response
    }

    /// The language switch: a GET form, as it changes nothing but a display preference (a cookie).
    static func setLanguage(_ request: Request) -> Response {
        let asked = request.uri.queryParameters["lang"].map(String.init) ?? ""
        let code = WebLocale.supported.contains(asked) ? asked : WebLocale.fallback
        var response = WebResponse.seeOther("/")
        response.setCookie(
            Cookie(
                name: "lang", value: code, maxAge: 31_536_000, path: "/", secure: SessionController.overTLS(request),
                sameSite: .lax))
        return response
    }
}
