import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// `/area`: the coordinator's page. What is overdue and what was escalated in an area, by district and community,
/// from the API's lists (`/v1/loops?loop=overdue&area=`, `/v1/areas/{code}/escalations`,
/// `/v1/areas/{code}/sensitive`) with the same access check; sensitive complaints only as counts.
struct WebCoordinator: Sendable {
    let web: WebController
    /// The most cases each list shows; the page says when there are more.
    static let limit = 200

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("area") { request, context in
            try await self.web.serve(.area, request, context) { visit, principal in
                try await self.page(request, visit, principal)
            }
        }
    }

    func page(_ request: Request, _ visit: WebController.Visit, _ principal: Principal) async throws -> Response {
        try await self.web.referenceReady()
        let catalog = self.web.reference.data.catalog
        let asked = request.uri.queryParameters["area"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        guard let code = asked ?? principal.scope ?? Self.country(catalog),
            ProjectionController.seesAreaLists(principal, code, catalog: catalog)
        else { return self.web.forbidden(visit, message: "area.not_yours") }
        let (queries, now) = (self.web.queries, self.web.clock.now())
        // The API's `/v1/loops?loop=overdue&area=CODE`, as the coordinator reads it.
        let overdue = {
            var filter = CaseFilter()
            filter.loop = LoopStatus.overdue.rawValue
            filter.area = code
            return filter
        }()
        let escalations = ProjectionController.escalations(in: code, for: principal)
        let scope = CaseScope(readableBy: principal, catalog: catalog)
        let limit = Self.limit
        let late = try await Problem.mapping {
            try await withDatabaseDeadline {
                try await queries.cases(
                    scope: scope, filter: overdue, order: .loopAge, after: nil, limit: limit, now: now)
            }
        }
        let escalated = try await Problem.mapping {
            try await withDatabaseDeadline {
                try await queries.cases(
                    scope: escalations.scope, filter: escalations.filter, order: .due, after: nil, limit: limit,
                    now: now)
            }
        }
        let sensitive = try await Problem.mapping {
            try await withDatabaseDeadline { try await queries.sensitiveCounts(area: code, now: now) }
        }
        let locale = visit.locale
        let rows = AreaBreakdown(catalog: catalog, root: code).rows(overdue: late.items, escalated: escalated.items)
        var data: [String: Any] = [
            "area_code": code, "area_name": catalog.area(code)?.name ?? code, "as_of": locale.format(now),
            "breakdown": rows.map { $0.view(locale) },
            "overdue": late.items.map { Self.item($0, catalog: catalog, locale: locale) },
            "escalated": escalated.items.map { Self.item($0, catalog: catalog, locale: locale) },
            "overdue_more": late.next != nil, "escalated_more": escalated.next != nil,
            "overdue_none": late.items.isEmpty, "escalated_none": escalated.items.isEmpty,
            "limit": locale.number(Int64(limit)),
            "areas": Self.choices(principal, catalog: catalog, selected: code),
        ]
        data["sensitive"] = ["open", "overdue", "closed", "total"].map { name in
            [
                "name": name, "label": locale.text("area.sensitive.\(name)"),
                "count": locale.number(sensitive[name] ?? 0),
            ]
        }
        return self.web.render("area", title: "area.title", visit, data)
    }

    /// The top of the tree: where auditors and admins start.
    static func country(_ catalog: ReferenceCatalog) -> String? {
        catalog.areas.values.filter { $0.parent == nil }.map(\.code).min()
    }

    /// The areas the user may switch to: their own and those below (everything for auditors and admins).
    static func choices(_ principal: Principal, catalog: ReferenceCatalog, selected: String) -> [[String: Any]] {
        catalog.areas.values.filter { ProjectionController.seesAreaLists(principal, $0.code, catalog: catalog) }
            .sorted { $0.code < $1.code }
            .map { ["value": $0.code, "label": "\($0.code) · \($0.name)", "selected": $0.code == selected] }
    }

    /// One case of a list as the page shows it: a link to its page, what it is, where, how late.
    static func item(_ item: CaseItem, catalog: ReferenceCatalog, locale: WebLocale) -> [String: Any] {
        var row: [String: Any] = ["id": item.id, "href": "/\(item.kind)s/\(item.id)"]
        guard case .object(let members) = item.json else { return row }
        if case .string(let status)? = members["status"] {
            let key = "status.\(item.kind).\(status)"
            // A status the locale does not name yet reads as its words rather than as a key.
            row["status"] = locale.strings[key] ?? status.replacingOccurrences(of: "_", with: " ")
        }
        if case .string(let area)? = members["area"] { row["area"] = catalog.area(area)?.name ?? area }
        if case .string(let programme)? = members["programme"] {
            row["programme"] = catalog.programme(programme)?.name ?? programme
        }
        if case .integer(let age)? = members["age_days"] { row["age"] = locale.number(age) }
        if case .string(let due)? = members["due_at"], case .success(let time) = Timestamp.parseRFC3339(due) {
            row["due"] = locale.format(time)
        }
        if case .integer(let level)? = members["escalation_level"], level > 0 { row["level"] = locale.number(level) }
        return row
    }
}

/// The counts of an area's lists by district and community: each case counts in the district and the community its
/// current area lies in (a case at district level in the district only).
struct AreaBreakdown {
    let catalog: ReferenceCatalog
    let root: String

    struct Row {
        var code: String
        var name: String
        var level: AreaLevel
        var overdue: Int64 = 0
        var escalated: Int64 = 0

        func view(_ locale: WebLocale) -> [String: Any] {
            [
                "code": self.code, "name": self.name, "community": self.level == .community,
                "overdue": locale.number(self.overdue), "escalated": locale.number(self.escalated),
            ]
        }
    }

    /// The districts and communities at or below `root`, in tree order, with their counts.
    func rows(overdue: [CaseItem], escalated: [CaseItem]) -> [Row] {
        var rows: [Row] = []
        func visit(_ code: String) {
            guard let area = self.catalog.area(code) else { return }
            if area.level == .district || area.level == .community {
                rows.append(Row(code: code, name: area.name, level: area.level))
            }
            for child in self.catalog.children(ofArea: code) { visit(child.code) }
        }
        visit(self.root)
        for (items, escalation) in [(overdue, false), (escalated, true)] {
            for item in items {
                guard case .object(let members) = item.json, case .string(let area)? = members["area"] else { continue }
                for index in rows.indices where self.catalog.isWithin(area: area, ancestor: rows[index].code) {
                    if escalation { rows[index].escalated += 1 } else { rows[index].overdue += 1 }
                }
            }
        }
        return rows
    }
}
