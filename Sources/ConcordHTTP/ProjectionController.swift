import ConcordCore
import ConcordProjections
import ConcordStore
import Foundation
import Hummingbird

/// The views read from the projections: a programme's queue, an office's cases, open and overdue loops, a
/// coordinator's escalations and the indicators. Each is scoped by the caller's role (brief, invariant 6); a
/// scope the caller does not have answers 404, as for a case.
struct ProjectionController: Sendable {
    let queries: ProjectionQueries
    let reference: ReferenceFollower
    let clock: WallClock
    /// The phone and national ID index, for `GET /v1/cases` (see CaseSearch.swift).
    var lookup: PersonalDataVault? = nil

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/cases") { request, context in try await self.search(request, context) }
        router.get("v1/areas/:code/sensitive") { request, context in try await self.sensitiveCounts(request, context) }
        router.get("v1/programmes/:code/queue") { request, context in try await self.queue(request, context) }
        router.get("v1/offices/:code/cases") { request, context in try await self.officeCases(request, context) }
        router.get("v1/loops") { request, context in try await self.loops(request, context) }
        router.get("v1/areas/:code/escalations") { request, context in try await self.escalations(request, context) }
        router.get("v1/indicators") { request, context in try await self.indicators(request, context) }
    }

    /// What waits for the programme's action, by due time.
    func queue(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let code = try context.parameters.require("code")
        let found = try await self.queuePage(QueryParameters(request), principal: principal, code: code)
        return found.response(key: "queue")
    }

    /// The queue of `code` (a programme, or a service type) as `principal` may see it: the API's and the pages'.
    func queuePage(_ query: QueryParameters, principal: Principal, code: String) async throws -> CasePage {
        let catalog = try await self.catalog()
        // A service type is a queue of its own: its owning programme's queue also holds it, and one without a
        // programme (GBV-SUPPORT) is worked by tokens scoped to it.
        guard catalog.programme(code) != nil || catalog.serviceType(code) != nil else {
            throw Self.notFound("no programme or service \(code)")
        }
        let scope: CaseScope
        switch principal.role {
        case .admin, .auditor: scope = .everything
        case .programme
        where principal.scope.map({ AccessPolicy.handledCodes(by: $0, catalog: catalog).contains(code) }) == true:
            scope = CaseScope(sensitive: principal.focalPoint)
        case .coordinator: scope = CaseScope(area: principal.scope, sensitive: false)
        default: throw Self.notFound("no queue of \(code) that you can see")
        }
        var query = query
        var filter = try query.filter(catalog: catalog, allowed: ["kind", "status", "overdue", "category", "area"])
        filter.waitingOnAny = AccessPolicy.handledCodes(by: code, catalog: catalog)
        return try await self.casePage(query, scope: scope, filter: filter, order: .due)
    }

    /// What the office lodged or sent, newest first, with counter-referral feedback waiting for it flagged.
    func officeCases(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let code = try context.parameters.require("code")
        let found = try await self.officePage(
            QueryParameters(request), principal: principal, code: code, order: .newest)
        return found.response(key: "cases")
    }

    /// The cases office `code` lodged or sent, as `principal` may see them, in `order`: the API's (newest first)
    /// and the pages' (what is due first).
    func officePage(
        _ query: QueryParameters, principal: Principal, code: String, order: CaseOrder
    ) async throws -> CasePage {
        let catalog = try await self.catalog()
        guard catalog.office(code) != nil || catalog.programme(code) != nil else {
            throw Self.notFound("no office \(code)")
        }
        let scope: CaseScope
        switch principal.role {
        case .admin, .auditor: scope = CaseScope(office: code, sensitive: true)
        case .office, .programme:
            guard principal.scope == code else { throw Self.notFound("no cases of \(code) that you can see") }
            scope = CaseScope(office: code, sensitive: false)
        case .coordinator: scope = CaseScope(office: code, area: principal.scope, sensitive: false)
        }
        var query = query
        let filter = try query.filter(
            catalog: catalog, allowed: ["kind", "status", "loop", "overdue", "category", "area", "feedback_waiting"])
        return try await self.casePage(query, scope: scope, filter: filter, order: order)
    }

    /// Open, awaiting-feedback and overdue loops, oldest first.
    func loops(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let catalog = try await self.catalog()
        var query = QueryParameters(request)
        var filter = try query.filter(
            catalog: catalog,
            allowed: ["kind", "status", "loop", "overdue", "category", "area", "programme", "min_age_days"])
        if filter.loop == "closed" {
            throw Problem(
                status: .badRequest, title: "Invalid query parameter",
                detail: "loop must be open, awaiting_feedback or overdue: this list holds loops not yet closed",
                field: "loop")
        }
        if filter.loop == nil { filter.loop = "not_closed" }
        return try await self.page(
            query, scope: CaseScope(readableBy: principal, catalog: catalog), filter: filter, order: .loopAge,
            key: "loops")
    }

    /// Escalated complaints in the area and below: the coordinator's view for that level.
    func escalations(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let (principal, code, catalog) = try await self.visibleArea(context, what: "escalations")
        var query = QueryParameters(request)
        var filter = try query.filter(catalog: catalog, allowed: ["status", "overdue", "category", "loop"])
        let list = Self.escalations(in: code, for: principal)
        (filter.kind, filter.escalated, filter.area) = (list.filter.kind, list.filter.escalated, list.filter.area)
        return try await self.page(query, scope: list.scope, filter: filter, order: .due, key: "escalations")
    }

    /// The caller, the area `{code}` of the route and the reference data, when the caller may see the area's lists:
    /// auditors and admins any area, a coordinator its own and those below; anyone else is told there is none.
    func visibleArea(
        _ context: ConcordRequestContext, what: String
    ) async throws -> (Principal, String, ReferenceCatalog) {
        let principal = try context.requirePrincipal()
        let code = try context.parameters.require("code")
        let catalog = try await self.catalog()
        guard catalog.area(code) != nil else { throw Self.notFound("no area \(code)") }
        guard Self.seesAreaLists(principal, code, catalog: catalog) else {
            throw Self.notFound("no \(what) in \(code) that you can see")
        }
        return (principal, code, catalog)
    }

    /// Who may see the lists of the area `code` (escalations, sensitive counts; the coordinator's page too):
    /// auditors and admins any area, a coordinator its own and those below.
    static func seesAreaLists(_ principal: Principal, _ code: String, catalog: ReferenceCatalog) -> Bool {
        switch principal.role {
        case .admin, .auditor: catalog.area(code) != nil
        case .coordinator: catalog.isWithin(area: code, ancestor: principal.scope ?? "")
        case .office, .programme: false
        }
    }

    /// The escalations list of the area `code` as `principal` sees it: escalated complaints now in the area's
    /// subtree, the sensitive ones for auditors and admins only (the API's list and the coordinator's page).
    static func escalations(in code: String, for principal: Principal) -> (scope: CaseScope, filter: CaseFilter) {
        var filter = CaseFilter()
        filter.kind = Complaint.streamType
        filter.escalated = true
        filter.area = code
        return (CaseScope(sensitive: principal.role == .admin || principal.role == .auditor), filter)
    }

    /// The M&E indicators, as JSON or (with `Accept: text/csv` or `format=csv`) CSV.
    func indicators(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var query = QueryParameters(request)
        let now = self.clock.now()
        let to = try query.time("to") ?? now
        let from =
            try query.time("from")
            ?? Timestamp(microsecondsSinceEpoch: to.microsecondsSinceEpoch - 365 * 86_400_000_000)
        guard from < to else {
            throw Problem(status: .badRequest, title: "Invalid period", detail: "from must be before to", field: "from")
        }
        let groupBy = query.take("group_by")
        let level = query.take("level")
        if level != nil, groupBy != "area" {
            throw Problem(
                status: .badRequest, title: "Invalid query parameter",
                detail: "level goes with group_by=area only", field: "level")
        }
        guard let grouping = IndicatorGrouping(groupBy: groupBy, level: level) else {
            let field = groupBy.map { IndicatorGrouping.names.contains($0) } == true ? "level" : "group_by"
            throw Problem(
                status: .badRequest, title: "Invalid query parameter",
                detail: field == "level"
                    ? "level must be one of country, province, district, community"
                    : "group_by must be one of " + IndicatorGrouping.names.joined(separator: ", "), field: field)
        }
        let series: IndicatorSeries = try query.oneOf("by", ["month"]) == nil ? .period : .month
        let format = query.take("format") ?? (request.headers[.accept]?.contains("text/csv") == true ? "csv" : "json")
        guard ["csv", "json"].contains(format) else {
            throw Problem(
                status: .badRequest, title: "Invalid query parameter", detail: "format must be json or csv",
                field: "format")
        }
        let catalog = try await self.catalog()
        let filter = try query.filter(catalog: catalog, allowed: ["programme", "area"])
        try query.refuseRest()
        let (queries, scope) = (self.queries, CaseScope(readableBy: principal, catalog: catalog))
        let indicators = try await withDatabaseDeadline(.seconds(30)) {
            try await Indicators.compute(
                client: queries.client, scope: scope, filter: filter, grouping: grouping, series: series, from: from,
                to: to, now: now, logger: queries.logger)
        }
        if format == "csv" {
            let csv = indicators.csv(period: ["from": from.rfc3339, "to": to.rfc3339, "as_of": now.rfc3339])
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: Self.attachment(from, to)],
                body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
        var extra: [String: any Sendable] = [
            "from": from.rfc3339, "to": to.rfc3339, "group_by": groupBy ?? "total", "as_of": now.rfc3339,
        ]
        if series == .month { extra["by"] = "month" }
        let body = try indicators.json(extra: extra)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// `attachment; filename="concord-indicators-2026-01-01-2026-12-01.csv"`: the period's dates (UTC).
    static func attachment(_ from: Timestamp, _ to: Timestamp) -> String {
        "attachment; filename=\"concord-indicators-\(from.rfc3339.prefix(10))-\(to.rfc3339.prefix(10)).csv\""
    }

    // MARK: Helpers

    func page(
        _ query: QueryParameters, scope: CaseScope, filter: CaseFilter, order: CaseOrder, key: String
    ) async throws -> Response {
        try await self.casePage(query, scope: scope, filter: filter, order: order).response(key: key)
    }

    /// One page of a list: `limit` (1 to 500, 50 unless given) items after the cursor `after`; any other parameter
    /// left in `query` is refused.
    func casePage(
        _ query: QueryParameters, scope: CaseScope, filter: CaseFilter, order: CaseOrder
    ) async throws -> CasePage {
        var query = query
        let limit = try query.integer("limit", in: 1...500) ?? 50
        let cursor = try query.take("after").map { text in
            guard let cursor = PageCursor(text: text) else {
                throw Problem(
                    status: .badRequest, title: "Invalid query parameter",
                    detail: "after must be the next_after value of a previous page", field: "after")
            }
            return cursor
        }
        try query.refuseRest()
        let (queries, now) = (self.queries, self.clock.now())
        let (items, next) = try await withDatabaseDeadline {
            try await queries.cases(scope: scope, filter: filter, order: order, after: cursor, limit: limit, now: now)
        }
        return CasePage(items: items, next: next, asOf: now)
    }

    func catalog() async throws -> ReferenceCatalog {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        return reference.data.catalog
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, title: "Not found", detail: detail)
    }
}

/// The query string, taken parameter by parameter; what is left over is refused, so a misspelt filter is an
/// error rather than silently ignored.
struct QueryParameters {
    private var values: [String: String]

    init(_ request: Request) {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { values[String(name)] = String(value) }
        self.values = values
    }

    init(values: [String: String]) {
        self.values = values
    }

    mutating func take(_ name: String) -> String? { self.values.removeValue(forKey: name) }

    func refuseRest() throws {
        guard let name = self.values.keys.sorted().first else { return }
        throw Problem(
            status: .badRequest, title: "Unknown query parameter", detail: "this list takes no parameter '\(name)'",
            field: name)
    }

    mutating func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = self.take(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw Self.invalid(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    mutating func bool(_ name: String) throws -> Bool? {
        guard let text = self.take(name) else { return nil }
        guard let value = ["true": true, "false": false][text] else {
            throw Self.invalid(name, "must be true or false")
        }
        return value
    }

    mutating func oneOf(_ name: String, _ allowed: [String]) throws -> String? {
        guard let text = self.take(name) else { return nil }
        guard allowed.contains(text) else {
            throw Self.invalid(name, "must be one of " + allowed.joined(separator: ", "))
        }
        return text
    }

    /// An RFC 3339 date (`2026-11-01`, midnight UTC) or time with its zone (`2026-11-01T09:30:00Z`,
    /// `2026-11-01T12:30:00.25+03:00`), strictly: 2026-02-30, hour 25, offset +25:00 or a missing zone are 400.
    mutating func time(_ name: String) throws -> Timestamp? {
        guard let text = self.take(name) else { return nil }
        switch Timestamp.parseRFC3339(text) {
        case .success(let time): return time
        case .failure(let error):
            throw Self.invalid(
                name, "must be an RFC 3339 date like 2026-11-01 or time like 2026-11-01T09:30:00Z: \(error)")
        }
    }

    /// The list filters named in `allowed`, checked against the domain's vocabulary and the reference data.
    mutating func filter(catalog: ReferenceCatalog, allowed: Set<String>) throws -> CaseFilter {
        var filter = CaseFilter()
        let kinds = [Complaint.streamType, Appeal.streamType, Referral.streamType]
        let statuses =
            Complaint.Status.allCases.map(\.rawValue) + Appeal.Status.allCases.map(\.rawValue)
            + Referral.Status.allCases.map(\.rawValue)
        if allowed.contains("kind") { filter.kind = try self.oneOf("kind", kinds) }
        if allowed.contains("status") { filter.status = try self.oneOf("status", Array(Set(statuses)).sorted()) }
        if allowed.contains("loop") { filter.loop = try self.oneOf("loop", LoopStatus.allCases.map(\.rawValue)) }
        if allowed.contains("overdue") { filter.overdue = try self.bool("overdue") }
        if allowed.contains("category") {
            filter.category = try self.oneOf("category", Complaint.Category.allCases.map(\.rawValue))
        }
        if allowed.contains("feedback_waiting") { filter.feedbackWaiting = try self.bool("feedback_waiting") }
        if allowed.contains("min_age_days") { filter.minimumAgeDays = try self.integer("min_age_days", in: 0...36_500) }
        if allowed.contains("area"), let area = self.take("area") {
            guard catalog.area(area) != nil else { throw Self.invalid("area", "no area has the code \(area)") }
            filter.area = area
        }
        if allowed.contains("programme"), let programme = self.take("programme") {
            guard catalog.receivingProgramme(programme) != nil else {
                throw Self.invalid("programme", "no programme or service has the code \(programme)")
            }
            filter.programme = programme
        }
        return filter
    }

    static func invalid(_ name: String, _ reason: String) -> Problem {
        Problem(status: .badRequest, title: "Invalid query parameter", detail: "\(name) \(reason)", field: name)
    }
}

/// One page of a list of cases, as of `asOf`: the API answers it as JSON, the pages render it.
struct CasePage: Sendable {
    var items: [CaseItem]
    var next: PageCursor?
    var asOf: Timestamp

    func response(key: String) -> Response {
        var body: [String: JSONValue] = [key: .array(self.items.map(\.json)), "as_of": .string(self.asOf.rfc3339)]
        if let next { body["next_after"] = .string(next.text) }
        return JSONResponse.make(.object(body), status: .ok)
    }
}
