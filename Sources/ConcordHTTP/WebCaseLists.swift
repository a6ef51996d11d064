import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The lists of cases on the pages: the programme's queue (with filters), counter-referral feedback waiting, the
/// office's cases and the front office's search. Each is the API's list (`ProjectionController`: same scopes, same
/// filters, same search), rendered; a filter the API refuses is said beside its field.
extension WebController {
    static let pageSize = "25"

    func addCaseKindRoutes(to router: Router<ConcordRequestContext>) {
        router.get("queue") { request, context in try await self.queue(request, context) }
        router.get("feedback") { request, context in try await self.feedback(request, context) }
        router.get("cases") { request, context in try await self.officeCases(request, context) }
        router.get("find") { request, context in try await self.findPage(request, context) }
        router.post("find") { request, context in try await self.findPage(request, context) }
        self.addAppealRoutes(to: router)
        self.addReferralRoutes(to: router)
        self.addCaseRoutes(Appeal.self, to: router)
        self.addCaseRoutes(Referral.self, to: router)
    }

    var lists: ProjectionController {
        ProjectionController(
            queries: self.queries, reference: self.reference, clock: self.clock,
            lookup: self.complaints.repository.vault)
    }

    /// The query's non-blank parameters among `names` (a form's "any" choice is blank), with the page size.
    static func listQuery(_ request: Request, _ names: [String]) -> [String: String] {
        var values: [String: String] = ["limit": Self.pageSize]
        for name in names + ["after"] {
            let value = request.uri.queryParameters[Substring(name)].map(String.init)?
                .trimmingCharacters(in: .whitespaces)
            if let value, !value.isEmpty { values[name] = value }
        }
        return values
    }

    /// The rows of a list: code, kind, status and loop in words, due day, age.
    func rows(_ page: CasePage, locale: WebLocale) -> [[String: Any]] {
        page.items.map { item in
            guard case .object(let members) = item.json else { return ["id": item.id] }
            let kind = TrackingCode.Kind.allCases.first { $0.streamType == item.kind } ?? .complaint
            var row: [String: Any] = [
                "id": item.id, "href": "/\(Self.collection(of: kind))/\(item.id)",
                "kind": locale.text("kind.\(item.kind)"),
                "status": locale.text("status.\(item.kind).\(members["status"]?.stringValue ?? "")"),
                "loop": locale.text("loop.status.\(members["loop"]?.stringValue ?? "")"),
                "overdue": members["overdue"] == .bool(true),
            ]
            if case .integer(let age)? = members["age_days"] { row["age"] = locale.integer(age) }
            if let due = members["due_at"]?.stringValue, case .success(let time) = Timestamp.parseRFC3339(due) {
                row["due"] = locale.day(time, now: page.asOf)
            }
            return row
        }
    }

    static func collection(of kind: TrackingCode.Kind) -> String {
        switch kind {
        case .complaint: Complaint.collection
        case .appeal: Appeal.collection
        case .referral: Referral.collection
        }
    }

    /// A list page: the rows, the next page's link, or the problem beside the filter it names.
    func listPage(
        _ template: String, title: String, _ visit: Visit, filters: [String: String], fields: [String],
        data extra: [String: Any] = [:], load: () async throws -> CasePage
    ) async throws -> Response {
        var data = extra
        data["values"] = filters
        do {
            let page = try await load()
            let rows = self.rows(page, locale: visit.locale)
            data["items"] = rows
            data["empty"] = rows.isEmpty
            if let next = page.next {
                var query = filters.filter { $0.key != "limit" && $0.key != "after" }
                query["after"] = next.text
                data["next"] =
                    "?"
                    + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.escape($0.value))" }
                    .joined(separator: "&")
                data["next_after"] = next.text
            }
            return self.render(template, title: title, visit, data)
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 401 {
            let errors = Self.fieldErrors(problem, form: fields)
            data["errors"] = errors.byField
            if let general = errors.general { data["error"] = general }
            data["items"] = [[String: Any]]()
            return self.render(template, title: title, visit, data, status: .badRequest)
        }
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    func options(_ values: [(String, String)], selected: String?, blank: String?) -> [[String: Any]] {
        (blank.map { [["value": "", "label": $0, "selected": selected == nil]] } ?? [])
            + values.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == selected] }
    }

    // MARK: Programme

    /// `/queue`: what waits for the programme (or one of its service types), overdue first (the due order puts the
    /// earliest due time first, and what is overdue is due earliest); filters by kind, status, service type, area.
    func queue(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard WebPage.queue.opens(principal), let scope = principal.scope else { return self.forbidden(visit) }
        let (locale, catalog) = (visit.locale, self.reference.data.catalog)
        var filters = Self.listQuery(request, ["kind", "status", "service_type", "area"])
        let code = filters.removeValue(forKey: "service_type") ?? scope
        let handled = AccessPolicy.handledCodes(by: scope, catalog: catalog)
        let data: [String: Any] = [
            "kinds": Self.kindOptions(selected: filters["kind"], locale: locale),
            "statuses": self.options(
                Self.statuses(locale), selected: filters["status"], blank: locale.text("filter.any")),
            "service_types": self.options(
                handled.map { ($0, catalog.receiverName($0)) }, selected: code == scope ? nil : code,
                blank: locale.text("filter.any")),
            "areas": self.options(
                self.areas(),
                selected: filters["area"], blank: locale.text("filter.any")),
        ]
        let lists = self.lists
        var shown = filters
        if code != scope { shown["service_type"] = code }
        return try await self.listPage(
            "queue", title: "queue.title", visit, filters: shown, fields: ["kind", "status", "service_type", "area"],
            data: data
        ) {
            try await lists.queuePage(QueryParameters(values: filters), principal: principal, code: code)
        }
    }

    /// The kinds of case, for a filter.
    static func kindOptions(selected: String?, locale: WebLocale) -> [[String: Any]] {
        let kinds = [Complaint.streamType, Appeal.streamType, Referral.streamType]
        return [["value": "", "label": locale.text("filter.any"), "selected": selected == nil]]
            + kinds.map { ["value": $0, "label": locale.text("kind.\($0)"), "selected": $0 == selected] }
    }

    /// Every status of every kind, labelled by the first kind that has it.
    static func statuses(_ locale: WebLocale) -> [(String, String)] {
        var seen: [(String, String)] = []
        let all =
            Complaint.Status.allCases.map { (Complaint.streamType, $0.rawValue) }
            + Appeal.Status.allCases.map { (Appeal.streamType, $0.rawValue) }
            + Referral.Status.allCases.map { (Referral.streamType, $0.rawValue) }
        for (kind, status) in all where !seen.contains(where: { $0.0 == status }) {
            seen.append((status, locale.text("status.\(kind).\(status)")))
        }
        return seen
    }

    /// `/feedback`: counter-referral feedback waiting. The referrals this office or programme sent whose feedback
    /// arrived and waits for its acknowledgement; for a programme, also the referrals it received that need its
    /// feedback.
    func feedback(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard WebPage.feedback.opens(principal), let scope = principal.scope else {
            return self.forbidden(visit)
        }
        let lists = self.lists
        let arrived = try await Problem.mapping {
            try await lists.officePage(
                QueryParameters(values: ["kind": "referral", "feedback_waiting": "true", "limit": "100"]),
                principal: principal, code: scope, order: .due)
        }
        var data: [String: Any] = ["arrived": self.rows(arrived, locale: visit.locale)]
        data["arrived_empty"] = arrived.items.isEmpty
        if principal.role == .programme {
            let owed = try await Problem.mapping {
                try await lists.queuePage(
                    QueryParameters(values: ["kind": "referral", "status": "completed", "limit": "100"]),
                    principal: principal, code: scope)
            }
            data["owed"] = self.rows(owed, locale: visit.locale)
            data["owed_empty"] = owed.items.isEmpty
            data["is_programme"] = true
        }
        return self.render("feedback", title: "feedback.title", visit, data)
    }

    // MARK: Front office

    /// `/cases`: what the office lodged or sent, with the loop status, what is due first.
    func officeCases(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard WebPage.cases.opens(principal), let scope = principal.scope else {
            return self.forbidden(visit)
        }
        let locale = visit.locale
        let filters = Self.listQuery(request, ["kind", "loop"])
        let data: [String: Any] = [
            "kinds": Self.kindOptions(selected: filters["kind"], locale: locale),
            "loops": self.options(
                LoopStatus.allCases.map { ($0.rawValue, locale.text("loop.status.\($0.rawValue)")) },
                selected: filters["loop"], blank: locale.text("filter.any")),
        ]
        let lists = self.lists
        return try await self.listPage(
            "cases", title: "cases.title", visit, filters: filters, fields: ["kind", "loop"], data: data
        ) {
            try await lists.officePage(QueryParameters(values: filters), principal: principal, code: scope, order: .due)
        }
    }

    /// `/find`: a case by tracking code, phone or national ID: the API's search (`GET /v1/cases`), so the same
    /// people find the same cases. A POST form with its CSRF token, so that no phone or ID is ever in a URL (a
    /// browser's history, a proxy's log); the next page is a form too.
    func findPage(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let fields = ["tracking_code", "phone", "national_id"]
        guard request.method == .post else {
            return self.render("find", title: "find.title", visit, ["values": [String: String](), "asked": false])
        }
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        var filters: [String: String] = ["limit": Self.pageSize]
        for name in fields + ["after"] { if let value = form[name] { filters[name] = value } }
        guard filters.count > 1 else {
            return self.render("find", title: "find.title", visit, ["values": filters, "asked": false])
        }
        let lists = self.lists
        return try await self.listPage(
            "find", title: "find.title", visit, filters: filters, fields: fields, data: ["asked": true]
        ) {
            try await lists.searchPage(QueryParameters(values: filters), principal: principal)
        }
    }
}
