import ConcordCore
import ConcordWeb
import Hummingbird

/// The workspace's pages that belong to roles, and who opens each: one table that the navigation shows and the
/// pages' guards check, so a link is never offered to a page that would refuse it.
enum WebPage: String, CaseIterable, Sendable {
    case lodge, appeal, referral, cases, queue, feedback, area, dashboard, users, tokens

    var path: String {
        switch self {
        case .lodge: "/complaints/new"
        case .appeal: "/appeals/new"
        case .referral: "/referrals/new"
        case .cases: "/cases"
        case .queue: "/queue"
        case .feedback: "/feedback"
        case .area: "/area"
        case .dashboard: "/dashboard"
        case .users: "/admin/users"
        case .tokens: "/admin/tokens"
        }
    }

    /// The roles that open the page. The coordinator's page follows the API's area lists (`seesAreaLists`), the
    /// dashboard the API's indicators (every role, counting only what its lists show).
    var roles: Set<Role> {
        switch self {
        case .lodge, .appeal: [.office]
        case .referral, .cases, .feedback: [.office, .programme]
        case .queue: [.programme]
        case .area: [.coordinator, .auditor, .admin]
        case .dashboard: Set(Role.allCases)
        case .users, .tokens: [.admin]
        }
    }

    func opens(_ principal: Principal) -> Bool { self.roles.contains(principal.role) }

    /// The links of the pages `principal` opens, labelled in `locale`.
    static func navigation(for principal: Principal, locale: WebLocale) -> [[String: String]] {
        Self.allCases.filter { $0.opens(principal) }.map { page in
            ["href": page.path, "label": locale.text("nav.\(page.rawValue)"), "id": "nav-\(page.rawValue)"]
        }
    }
}

/// Refusals a person reads: a page's 403 (a failed CSRF check, a page the role may not open) as an HTML page in
/// their language rather than a problem document. Added to the router before the pages, so the API keeps its JSON.
struct WebForbiddenPage: RouterMiddleware {
    typealias Context = ConcordRequestContext
    let web: WebController

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem where problem.statusCode == 403 {
            // `requireCSRF`'s refusal: its page says to reload the form.
            let key = problem.title == CSRF.refusal ? "forbidden.csrf" : "forbidden.text"
            return self.web.forbidden(self.web.visit(request, context), message: key)
        }
    }
}

extension WebController {
    /// The 403 page: what was refused, and the way back.
    func forbidden(_ visit: Visit, message key: String = "forbidden.text") -> Response {
        self.render(
            "message", title: "forbidden.title", visit, ["message": visit.locale.text(key), "forbidden": true],
            status: .forbidden)
    }

    /// Answers with `body` when the signed-in user may open `page`; otherwise with the sign-in page, or 403.
    func serve(
        _ page: WebPage, _ request: Request, _ context: ConcordRequestContext,
        _ body: (Visit, Principal) async throws -> Response
    ) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard page.opens(principal) else { return self.forbidden(visit) }
        return try await body(visit, principal)
    }
}

extension CSRF {
    /// The title of the refusal of a form without its token, which the 403 page recognises.
    static let refusal = "Form expired"
}
