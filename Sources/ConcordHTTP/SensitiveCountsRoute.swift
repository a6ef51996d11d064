import ConcordCore
import ConcordProjections
import Hummingbird

extension ProjectionController {
    /// `GET /v1/areas/{code}/sensitive`: the sensitive complaints and appeals in the area and below, as counts only
    /// (`open`, `overdue`, `closed`, `total`), for the area's coordinators (and above), auditors and admins.
    func sensitiveCounts(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let (_, code, _) = try await self.visibleArea(context, what: "sensitive counts")
        try QueryParameters(request).refuseRest()
        let (queries, now) = (self.queries, self.clock.now())
        let counts = try await withDatabaseDeadline { try await queries.sensitiveCounts(area: code, now: now) }
        var body: [String: JSONValue] = ["area": .string(code), "as_of": .string(now.rfc3339)]
        for (name, count) in counts { body[name] = .integer(count) }
        return JSONResponse.make(.object(body), status: .ok)
    }
}
