import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The public tracking page.
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
            [
                "code": code, "found": true, "status": locale.text("track.\(kind).\(status)"),
                "steps": Self.trackedSteps(members, locale: locale, now: self.clock.now()),
            ])
    }

    /// The days of the steps a tracking view holds, in the visitor's language ("Received: 2 December").
    static func trackedSteps(_ members: JSONObject, locale: WebLocale, now: Timestamp) -> [[String: String]] {
        let keys = [
            "lodged_at", "created_at", "acknowledged_at", "resolved_at", "decided_at", "completed_at", "closed_at",
        ]
        return keys.compactMap { key in
            guard let text = members[key]?.stringValue, case .success(let time) = Timestamp.parseRFC3339(text) else {
                return nil
            }
            return ["label": locale.text("track.when.\(key)"), "day": locale.day(time, now: now)]
        }
    }
}
