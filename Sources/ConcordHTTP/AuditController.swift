import ConcordCore
import ConcordProjections
import ConcordStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import Synchronization

/// The log for auditors over HTTP: events after a position, or one stream's events, as NDJSON (or CloudEvents)
/// with their canonical bytes and chain hashes, streamed page by page.
///
/// With a read replica (`DATABASE_READ_URL`), the export, a stream's events and a case as of a past point are read
/// there, and their answers say how far behind it is (`Concord-Read-Position`, `Concord-Replica-Lag`); the
/// indicators as of a past point stay on the primary (their replay creates tables, which a standby refuses).
struct AuditController: Sendable {
    let store: EventStore
    let client: PostgresClient
    let logger: Logger
    var replica: ReadReplica? = nil
    /// One past-state replay of the indicators at a time per process: each one rebuilds the projection tables.
    let replaying = AsOfGate()

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/audit/events") { request, context in try await self.events(request, context) }
        router.get("v1/audit/streams/:id") { request, context in try await self.stream(request, context) }
        router.get("v1/audit/as-of") { request, context in try await self.asOf(request, context) }
    }

    /// A case (`case=`) or the indicators (`view=indicators`) as they stood at a past `position` or `time`,
    /// replayed from the log alone, as `concord audit as-of` prints them.
    func asOf(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAuditor(context)
        var query = QueryParameters(request)
        let position = try query.integer("position", in: 1...Int.max).map(Int64.init)
        let time = try query.time("time")
        let code = query.take("case").map(TrackingCode.caseID)
        let view = try query.oneOf("view", ["case", "indicators"]) ?? (code == nil ? nil : "case")
        try query.refuseRest()
        guard (position == nil) != (time == nil) else {
            throw Problem(
                status: .badRequest, title: "Invalid query parameter",
                detail: "give exactly one of position and time", field: position == nil ? "time" : "position")
        }
        switch (view, code) {
        case ("indicators", nil): return try await self.indicatorsAsOf(position: position, time: time)
        case ("case", let code?):
            let reader = try await self.reader()
            try reader.require(position)
            return reader.label(try await Self.caseAsOf(code, position: position, time: time, store: reader.store))
        case ("indicators", _?):
            throw Problem(
                status: .badRequest, title: "Invalid query parameter", detail: "case goes with view=case only",
                field: "case")
        default:
            throw Problem(
                status: .badRequest, title: "Missing query parameter",
                detail: "say what to show: case=<tracking code>, or view=indicators", field: "case")
        }
    }

    static func caseAsOf(_ code: String, position: Int64?, time: Timestamp?, store: EventStore) async throws -> Response
    {
        let (stop, view) = try await withDatabaseDeadline(.seconds(30)) {
            let stop = try await AsOf.position(position, orTime: time, store: store)
            return (stop, try await AsOf.caseView(id: code, position: stop, store: store))
        }
        guard let view else {
            throw Problem(
                status: .notFound, title: "Not found",
                detail: "no complaint, appeal or referral \(code) existed at position \(stop)")
        }
        return JSONResponse.make(view, status: .ok)
    }

    func indicatorsAsOf(position: Int64?, time: Timestamp?) async throws -> Response {
        guard self.replaying.enter() else {
            return Problem(
                status: .serviceUnavailable, title: "Busy",
                detail: "another past-state replay of the indicators is running on this node; try again shortly"
            ).response(retryAfter: 5)
        }
        defer { self.replaying.leave() }
        let (store, client, logger) = (self.store, self.client, self.logger)
        let document = try await withDatabaseDeadline(.seconds(120)) {
            let stop = try await AsOf.position(position, orTime: time, store: store)
            return try await AsOf.indicators(position: stop, time: time, client: client, store: store, logger: logger)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }

    func events(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAuditor(context)
        var query = QueryParameters(request)
        let after = Int64(try query.integer("after", in: 0...Int.max) ?? 0)
        let limit = try query.integer("limit", in: 1...100_000) ?? 1_000
        let format = try Self.format(&query)
        try query.refuseRest()
        let reader = try await self.reader()
        let store = reader.store
        return reader.label(
            Self.ndjson(
                ResponseBody { writer in
                    var (position, remaining) = (after, limit)
                    while remaining > 0 {
                        let page = try await store.readStored(after: position, limit: min(remaining, 2_000))
                        guard let last = page.last else { break }
                        var buffer = ByteBuffer()
                        for event in page { buffer.writeBytes(format.line(event)) }
                        try await writer.write(buffer)
                        (position, remaining) = (last.event.position, remaining - page.count)
                    }
                    try await writer.finish(nil)
                }))
    }

    func stream(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAuditor(context)
        let id = try context.parameters.require("id")
        var query = QueryParameters(request)
        let format = try Self.format(&query)
        try query.refuseRest()
        let reader = try await self.reader()
        let store = reader.store
        let events = try await withDatabaseDeadline { try await store.readStored(streamID: id) }
        guard !events.isEmpty else {
            throw Problem(status: .notFound, title: "Not found", detail: "no stream has the id \(id)")
        }
        var buffer = ByteBuffer()
        for event in events { buffer.writeBytes(format.line(event)) }
        return reader.label(Self.ndjson(ResponseBody(byteBuffer: buffer)))
    }

    /// Where a read that tolerates staleness runs: the replica, as far as it is now, else the primary. A replica
    /// that does not answer is a 503: the primary is not loaded with what was moved off it.
    func reader() async throws -> AuditReader {
        guard let replica = self.replica else { return AuditReader(store: self.store, status: nil) }
        do {
            return AuditReader(store: replica.store, status: try await replica.status())
        } catch {
            var problem = Problem(
                status: .serviceUnavailable, title: "Read replica unavailable",
                detail: "the read-only database (DATABASE_READ_URL) does not answer (\(safeDescription(of: error))); "
                    + "audit reads run there only")
            problem.retryAfter = 5
            throw problem
        }
    }

    static func requireAuditor(_ context: ConcordRequestContext) throws {
        let principal = try context.requirePrincipal()
        guard principal.role == .auditor || principal.role == .admin else {
            throw Problem(
                status: .forbidden, title: "Not allowed", detail: "only auditor and admin tokens read the event log")
        }
    }

    static func format(_ query: inout QueryParameters) throws -> AuditExport {
        let name = try query.oneOf("format", AuditExport.allCases.map(\.rawValue)) ?? "ndjson"
        return AuditExport(rawValue: name) ?? .ndjson
    }

    static func ndjson(_ body: ResponseBody) -> Response {
        Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }
}

/// The store an audit read uses, and, on a replica, how far that replica was when the read began.
struct AuditReader: Sendable {
    let store: EventStore
    let status: ReadReplica.Status?

    static let positionHeader = HTTPField.Name("Concord-Read-Position")
    static let lagHeader = HTTPField.Name("Concord-Replica-Lag")

    /// A position the replica has not replayed yet is a 503: its answer would be of the past, silently.
    func require(_ position: Int64?) throws {
        guard let status = self.status, let position, position > status.position else { return }
        var problem = Problem(
            status: .serviceUnavailable, title: "Read replica behind",
            detail: "the read replica has replayed the log up to position \(status.position), not yet \(position) "
                + "(\(String(format: "%.1f", status.lagSeconds)) s behind the primary)",
            field: "position")
        problem.retryAfter = 1
        throw problem
    }

    /// `response`, saying how far the replica was (nothing when read on the primary).
    func label(_ response: Response) -> Response {
        guard let status = self.status, let positionHeader = Self.positionHeader, let lagHeader = Self.lagHeader else {
            return response
        }
        var response = response
        response.headers[positionHeader] = "\(status.position)"
        response.headers[lagHeader] = String(format: "%.3f", status.lagSeconds)
        return response
    }
}

/// Lets one task in at a time; the others are turned away rather than queued.
final class AsOfGate: Sendable {
    private let busy = Atomic<Bool>(false)

    func enter() -> Bool { self.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged }
    func leave() { self.busy.store(false, ordering: .releasing) }
}
