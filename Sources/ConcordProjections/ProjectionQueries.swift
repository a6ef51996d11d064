import ConcordCore
import ConcordStore
import Foundation
import Logging
import PostgresNIO

/// Which cases a list query may return: those the caller could read one by one (brief, invariant 6; the same
/// rules as `AccessPolicy.canRead`).
public struct CaseScope: Sendable, Hashable {
    /// Only cases this programme (or office) handles or lodged: a complaint assigned to it, a referral it sent or
    /// received.
    public var party: String?
    /// The service types `party` owns: their cases are its cases too (`AccessPolicy.handles`).
    public var ownedServiceTypes: [String] = []
    /// Only cases lodged or sent by this office (or programme, for a referral's source).
    public var office: String?
    /// Only complaints and appeals now in this area's subtree (coordinators do not read referrals; they still read a
    /// case escalated out of their area by its id, but it leaves their lists).
    public var area: String?
    /// Whether sensitive complaints may be listed.
    public var sensitive: Bool

    public init(party: String? = nil, office: String? = nil, area: String? = nil, sensitive: Bool) {
        self.party = party
        self.office = office
        self.area = area
        self.sensitive = sensitive
    }

    /// Everything (auditors, admins).
    public static let everything = CaseScope(sensitive: true)

    /// The cases `principal` may read, as lists see them: an office what it lodged or sent, a programme what it
    /// handles or sent (sensitive complaints only for its focal point), a coordinator its area, auditors and admins
    /// everything. A property test holds it to `AccessPolicy.canRead`, case by case. `catalog` says which service
    /// types a programme owns.
    public init(readableBy principal: Principal, catalog: ReferenceCatalog) {
        switch principal.role {
        case .admin, .auditor: self = .everything
        case .office: self.init(office: principal.scope ?? "", sensitive: false)
        case .programme:
            let scope = principal.scope ?? ""
            self.init(party: scope, sensitive: principal.focalPoint)
            self.ownedServiceTypes = Array(AccessPolicy.handledCodes(by: scope, catalog: catalog).dropFirst())
        case .coordinator: self.init(area: principal.scope ?? "", sensitive: false)
        }
    }
}

/// The filters of a list, each optional.
public struct CaseFilter: Sendable, Hashable {
    public var kind: String?
    public var status: String?
    /// `open`, `awaiting_feedback`, `closed` or `overdue`.
    public var loop: String?
    public var overdue: Bool?
    public var category: String?
    /// Only cases whose area lies within this area's subtree.
    public var area: String?
    public var programme: String?
    public var minimumAgeDays: Int?
    /// Only escalated complaints.
    public var escalated: Bool?
    /// Only referrals whose counter-referral waits for the source's acknowledgement.
    public var feedbackWaiting: Bool?
    /// Only open cases waiting for this programme's or office's action: a queue.
    public var waitingOn: String?
    /// Only these cases (by tracking code): a search's hits.
    public var ids: [String]?
    /// Only cases lodged or sent by this office (or a referral's source programme).
    public var office: String?
    /// Only cases opened at or after `openedFrom` and before `openedTo`.
    public var openedFrom: Timestamp?
    public var openedTo: Timestamp?
    /// Only open cases waiting for the action of one of these (a programme and the service types it owns).
    public var waitingOnAny: [String]?

    public init() {}
}

/// The order of a list: it is also its keyset (the last item's key is the next page's cursor).
public enum CaseOrder: Sendable {
    /// By due time (cases without one last): a queue.
    case due
    /// Newest first: an office's cases.
    case newest
    /// Oldest loop first: the loops list.
    case loopAge
}

/// Reads the projection tables for the API: queues, lists and indicators. Never touches the log.
public struct ProjectionQueries: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    var tables = CaseTables.live

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// One page of cases: the items, and the cursor of the next page (nil on the last).
    public func cases(
        scope: CaseScope, filter: CaseFilter, order: CaseOrder, after cursor: PageCursor?, limit: Int, now: Timestamp
    ) async throws -> (items: [CaseItem], next: PageCursor?) {
        let (sortKey, direction) = Self.sortKey(order)
        var query = PostgresQuery(
            unsafeSQL: """
                SELECT kind, id, status, programme, office, area, lodging_area, category, channel, priority,
                       escalation_level, overdue_escalated_due_at IS NOT NULL AS escalated_for_overdue,
                       concord_microseconds(opened_at) AS opened_at, concord_microseconds(status_since) AS status_since,
                       loop, concord_microseconds(loop_since) AS loop_since, next_step, waiting_on_kind, waiting_on,
                       concord_microseconds(due_at) AS due_at, \(sortKey) AS sort_key
                FROM \(self.tables.sql).cases c WHERE true
                """)
        var builder = WhereBuilder(query: query, now: now, tables: self.tables)
        builder.scope(scope)
        builder.filter(filter)
        if let cursor {
            builder.add(" AND (\(sortKey), c.kind, c.id) \(direction == "DESC" ? "<" : ">") (")
            builder.bind(cursor.sortKey)
            builder.add(", ")
            builder.bind(cursor.kind)
            builder.add(", ")
            builder.bind(cursor.id)
            builder.add(")")
        }
        query = builder.query
        query.sql += " ORDER BY \(sortKey) \(direction), c.kind \(direction), c.id \(direction) LIMIT \(limit + 1)"
        var items: [CaseItem] = []
        var keys: [Int64] = []
        for try await row in try await self.client.query(query, logger: self.logger) {
            let columns = row.makeRandomAccess()
            items.append(try CaseItem(columns, now: now))
            keys.append(try columns["sort_key"].decode(Int64.self))
        }
        guard items.count > limit else { return (items, nil) }
        items.removeLast()
        let last = items[items.count - 1]
        return (items, PageCursor(sortKey: keys[items.count - 1], kind: last.kind, id: last.id))
    }

    /// The sort key as an integer (microseconds), so that one cursor shape serves every order.
    static func sortKey(_ order: CaseOrder) -> (String, String) {
        switch order {
        // Cases without a due time sort last; the expression is the queue index's.
        case .due: ("coalesce(concord_microseconds(c.due_at), 9223372036854775807)", "ASC")
        case .newest: ("concord_microseconds(c.opened_at)", "DESC")
        case .loopAge: ("concord_microseconds(c.loop_since)", "ASC")
        }
    }

    /// The state of the projection: its checkpoint, the log's head and how far behind the next unapplied event is.
    public func lag() async throws -> ProjectionLag {
        let rows = try await self.client.query(
            """
            SELECT c.position, (SELECT coalesce(max(position), 0) FROM events),
                   coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM events e
                                                         WHERE e.position = c.position + 1)), 0)::float8
            FROM \(unescaped: self.tables.sql).checkpoints c WHERE c.name = \(CaseTables.name)
            """, logger: self.logger)
        for try await (checkpoint, head, seconds) in rows.decode((Int64, Int64, Double).self) {
            return ProjectionLag(name: CaseTables.name, checkpoint: checkpoint, head: head, secondsBehind: seconds)
        }
        return ProjectionLag(name: CaseTables.name, checkpoint: 0, head: 0, secondsBehind: 0)
    }
}

/// How far a projection is behind the log.
public struct ProjectionLag: Sendable, Hashable {
    public var name: String
    public var checkpoint: Int64
    public var head: Int64
    /// Age of the oldest event not yet applied (0 when caught up).
    public var secondsBehind: Double
    public var eventsBehind: Int64 { max(0, self.head - self.checkpoint) }
}

/// Where the next page starts: the last item's sort key, kind and id.
public struct PageCursor: Sendable, Hashable {
    public var sortKey: Int64
    public var kind: String
    public var id: String

    public init(sortKey: Int64, kind: String, id: String) {
        self.sortKey = sortKey
        self.kind = kind
        self.id = id
    }

    /// Opaque text for the `after` parameter: base64url of `key|kind|id`.
    public var text: String {
        Data("\(self.sortKey)|\(self.kind)|\(self.id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init?(text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard text.utf8.count <= 400, let data = Data(base64Encoded: base64) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: "|", maxSplits: 2).map(String.init)
        guard parts.count == 3, let key = Int64(parts[0]) else { return nil }
        self.init(sortKey: key, kind: parts[1], id: parts[2])
    }
}

/// One case in a list.
public struct CaseItem: Sendable, Hashable {
    public var kind: String
    public var id: String
    public var json: JSONValue

    init(_ columns: PostgresRandomAccessRow, now: Timestamp) throws {
        func text(_ name: String) throws -> String? { try columns[name].decode(String?.self) }
        func time(_ name: String) throws -> Timestamp? {
            try columns[name].decode(Int64?.self).map { Timestamp(microsecondsSinceEpoch: $0) }
        }
        self.kind = try columns["kind"].decode(String.self)
        self.id = try columns["id"].decode(String.self)
        let opened = try time("opened_at") ?? now
        let due = try time("due_at")
        let loop = try columns["loop"].decode(String.self)
        let overdue = loop != "closed" && due.map { $0 < now } == true
        let ageDays = Double(now.microsecondsSinceEpoch - opened.microsecondsSinceEpoch) / 86_400_000_000
        var members: [String: JSONValue] = [
            "kind": .string(self.kind), "id": .string(self.id),
            "status": .string(try columns["status"].decode(String.self)),
            "priority": .string(try columns["priority"].decode(String.self)), "opened_at": .string(opened.rfc3339),
            "age_days": .integer(Int64(max(0, ageDays).rounded(.down))), "overdue": .bool(overdue),
            "loop": .string(overdue ? LoopStatus.overdue.rawValue : loop),
            "escalation_level": .integer(Int64(try columns["escalation_level"].decode(Int32.self))),
            "escalated_for_overdue": .bool(try columns["escalated_for_overdue"].decode(Bool.self)),
        ]
        for name in [
            "programme", "office", "area", "lodging_area", "category", "channel", "next_step", "waiting_on_kind",
            "waiting_on",
        ] {
            if let value = try text(name) { members[name] = .string(value) }
        }
        for name in ["status_since", "loop_since", "due_at"] {
            if let value = try time(name) { members[name] = .string(value.rfc3339) }
        }
        self.json = .object(members)
    }
}

/// Builds a WHERE clause with bound values.
struct WhereBuilder {
    var query: PostgresQuery
    let now: Timestamp
    let tables: CaseTables

    mutating func add(_ sql: String) { self.query.sql += sql }

    mutating func bind(_ value: some PostgresDynamicTypeEncodable) {
        self.query.binds.append(value)
        self.query.sql += "$\(self.query.binds.count)"
    }

    mutating func condition(_ prefix: String, _ value: (some PostgresDynamicTypeEncodable)?, _ suffix: String = "") {
        guard let value else { return }
        self.add(" AND " + prefix)
        self.bind(value)
        self.add(suffix)
    }

    mutating func subtree(_ column: String, _ area: String?) {
        guard let area else { return }
        self.add(" AND \(column) IN (SELECT a.area FROM \(self.tables.sql).area_ancestors a WHERE a.ancestor = ")
        self.bind(area)
        self.add(")")
    }

    mutating func scope(_ scope: CaseScope) {
        if let party = scope.party {
            self.add(" AND (c.programme = ")
            self.bind(party)
            if !scope.ownedServiceTypes.isEmpty {
                self.add(" OR c.programme = ANY(")
                self.bind(scope.ownedServiceTypes)
                self.add(")")
            }
            self.add(" OR c.office = ")
            self.bind(party)
            self.add(")")
        }
        self.condition("c.office = ", scope.office)
        if let area = scope.area {
            self.add(" AND c.kind <> 'referral' AND EXISTS (SELECT FROM \(self.tables.sql).area_ancestors a")
            // Lists go by the current area (docs/api.md): an escalated complaint leaves the lodging area's lists.
            self.add(" WHERE a.area = c.area AND a.ancestor = ")
            self.bind(area)
            self.add(")")
        }
        if !scope.sensitive { self.add(" AND NOT c.sensitive") }
    }

    mutating func filter(_ filter: CaseFilter) {
        self.condition("c.kind = ", filter.kind)
        self.condition("c.status = ", filter.status)
        self.condition("c.category = ", filter.category)
        self.condition("c.programme = ", filter.programme)
        self.condition("c.loop <> 'closed' AND c.waiting_on = ", filter.waitingOn)
        self.condition("c.loop <> 'closed' AND c.waiting_on = ANY(", filter.waitingOnAny, ")")
        self.subtree("c.area", filter.area)
        let nowSQL = "concord_time(\(self.now.microsecondsSinceEpoch))"
        switch filter.loop {
        case "overdue"?: self.add(" AND c.loop <> 'closed' AND c.due_at < \(nowSQL)")
        case "open"?, "awaiting_feedback"?:
            self.condition("c.loop = ", filter.loop, " AND coalesce(c.due_at >= \(nowSQL), true)")
        case "not_closed"?: self.add(" AND c.loop <> 'closed'")
        case let loop?: self.condition("c.loop = ", loop)
        case nil: break
        }
        if let overdue = filter.overdue {
            self.add(
                overdue
                    ? " AND c.loop <> 'closed' AND c.due_at < \(nowSQL)"
                    : " AND NOT (c.loop <> 'closed' AND coalesce(c.due_at < \(nowSQL), false))")
        }
        if let days = filter.minimumAgeDays {
            self.add(
                " AND c.opened_at <= concord_time(\(self.now.microsecondsSinceEpoch - Int64(days) * 86_400_000_000))")
        }
        if filter.escalated == true { self.add(" AND c.escalation_level > 0") }
        self.condition("c.id = ANY(", filter.ids, ")")
        self.condition("c.office = ", filter.office)
        self.condition("c.opened_at >= concord_time(", filter.openedFrom?.microsecondsSinceEpoch, ")")
        self.condition("c.opened_at < concord_time(", filter.openedTo?.microsecondsSinceEpoch, ")")
        if let waiting = filter.feedbackWaiting {
            self.add(waiting ? " AND c.status = 'feedback_posted'" : " AND c.status <> 'feedback_posted'")
        }
    }
}
