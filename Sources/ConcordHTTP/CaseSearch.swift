import ConcordCore
import ConcordProjections
import ConcordStore
import Hummingbird

extension ProjectionController {
    /// `GET /v1/cases`: finds cases by `tracking_code`, by the person's `phone` or `national_id` (through the keyed
    /// hash index; none once the person is erased), and lists them by `office`, `status`, `kind` and the period they
    /// were opened in (`from`, `to`), newest first, scoped as reads are (`CaseScope(readableBy:)`). Searching by a
    /// person is for the roles that read people (`AccessPolicy.readsPerson`).
    func search(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        return try await self.searchPage(QueryParameters(request), principal: principal).response(key: "cases")
    }

    /// The search itself, for the API and the front office's find page.
    func searchPage(_ query: QueryParameters, principal: Principal) async throws -> CasePage {
        let catalog = try await self.catalog()
        var query = query
        var filter = try query.filter(catalog: catalog, allowed: ["kind", "status", "loop", "category", "area"])
        filter.openedFrom = try query.time("from")
        filter.openedTo = try query.time("to")
        if let office = query.take("office") {
            guard catalog.office(office) != nil || catalog.programme(office) != nil else {
                throw QueryParameters.invalid("office", "no office or programme has the code \(office)")
            }
            filter.office = office
        }
        if let code = query.take("tracking_code") {
            filter.ids = [TrackingCode.caseID(code.trimmingCharacters(in: .whitespaces))]
        }
        for kind in CaseLookup.Kind.allCases {
            guard let value = query.take(kind.rawValue) else { continue }
            filter.ids = try await self.hits(value, as: kind, principal: principal, narrowing: filter.ids)
        }
        return try await self.casePage(
            query, scope: CaseScope(readableBy: principal, catalog: catalog), filter: filter, order: .newest)
    }

    /// The tracking codes of the cases whose person has `value`, within `earlier` when another parameter narrowed
    /// the search already.
    private func hits(
        _ value: String, as kind: CaseLookup.Kind, principal: Principal, narrowing earlier: [String]?
    ) async throws -> [String] {
        guard AccessPolicy.readsPerson(principal) else {
            throw Problem(
                status: .forbidden, title: "Not allowed",
                detail: "your token does not read people's details, so it cannot search by them", field: kind.rawValue)
        }
        guard CaseLookup.normalise(value, as: kind) != nil else {
            throw QueryParameters.invalid(kind.rawValue, "must hold at least one digit or letter")
        }
        guard let lookup = self.lookup else { return [] }
        let found = try await withDatabaseDeadline { try await lookup.lookup(value, as: kind).map(\.id) }
        return earlier.map { earlier in found.filter(earlier.contains) } ?? found
    }
}
