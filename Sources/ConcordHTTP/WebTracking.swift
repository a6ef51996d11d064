import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The public tracking page and the programme's queue.
extension WebController {
    /// `/track?code=...`: no account; status in plain words in the visitor's language, no personal data. Shares the
    /// API's per-address limiter, so the page is no way around it.
    func track(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        let locale = visit.locale
        guard let text = request.uri.queryParameters["code"].map(String.init), !text.isEmpty else {
            return self.render("track", title: "track.title", visit)
        }
        let code = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard self.limiter.allow(context.remoteAddress?.ipAddress ?? "unknown") else {
            var response = self.render(
                "track", title: "track.title", visit, ["code": code, "error": locale.text("track.too_many")],
                status: .tooManyRequests)
            response.headers[.retryAfter] = "60"
            return response
        }
        guard case .success(let parsed) = TrackingCode.parse(code) else {
            return self.render(
                "track", title: "track.title", visit, ["code": code, "error": locale.text("track.mistyped")],
                status: .badRequest)
        }
        let store = self.store
        let view: JSONValue? = try await Problem.mapping {
            try await withDatabaseDeadline {
                switch parsed.kind {
                case .complaint: try await TrackingController.view(CaseRepository<Complaint>(store: store), parsed.text)
                case .appeal: try await TrackingController.view(CaseRepository<Appeal>(store: store), parsed.text)
                case .referral: try await TrackingController.view(CaseRepository<Referral>(store: store), parsed.text)
                }
            }
        }
        guard case .object(let members)? = view, case .string(let kind)? = members["kind"],
            case .string(let status)? = members["status"]
        else {
            return self.render(
                "track", title: "track.title", visit, ["code": code, "error": locale.text("track.unknown")],
                status: .notFound)
        }
        return self.render(
            "track", title: "track.title", visit,
            ["code": code, "found": true, "status": locale.text("track.\(kind).\(status)")])
    }

    /// `/queue`: the programme's open cases waiting for it, overdue first (the projection's due order puts the
    /// earliest due time first, and what is overdue is due earliest).
    func queue(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard principal.role == .programme, let code = principal.scope else { return self.notFound(visit) }
        let filter = {
            var filter = CaseFilter()
            filter.waitingOn = code
            filter.kind = "complaint"
            return filter
        }()
        let (queries, now) = (self.queries, self.clock.now())
        let scope = CaseScope(sensitive: principal.focalPoint)
        let (items, _) = try await Problem.mapping {
            try await withDatabaseDeadline {
                try await queries.cases(scope: scope, filter: filter, order: .due, after: nil, limit: 200, now: now)
            }
        }
        let rows: [[String: Any]] = items.map { item in
            var row: [String: Any] = ["id": item.id]
            if case .object(let members) = item.json {
                if case .string(let status)? = members["status"] {
                    row["status"] = visit.locale.text("status.complaint.\(status)")
                }
                if case .bool(true)? = members["overdue"] { row["overdue"] = true }
                if case .integer(let age)? = members["age_days"] { row["age"] = age }
            }
            return row
        }
        return self.render("queue", title: "queue.title", visit, ["items": rows, "empty": rows.isEmpty])
    }
}
