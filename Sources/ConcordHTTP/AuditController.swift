import ConcordCore
import ConcordStore
import Hummingbird

/// The log for auditors over HTTP: events after a position, or one stream's events, as NDJSON (or CloudEvents)
/// with their canonical bytes and chain hashes, streamed page by page.
struct AuditController: Sendable {
    let store: EventStore

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/audit/events") { request, context in try await self.events(request, context) }
        router.get("v1/audit/streams/:id") { request, context in try await self.stream(request, context) }
    }

    func events(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAuditor(context)
        var query = QueryParameters(request)
        let after = Int64(try query.integer("after", in: 0...Int.max) ?? 0)
        let limit = try query.integer("limit", in: 1...100_000) ?? 1_000
        let format = try Self.format(&query)
        try query.refuseRest()
        let store = self.store
        return Self.ndjson(
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
            })
    }

    func stream(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAuditor(context)
        let id = try context.parameters.require("id")
        var query = QueryParameters(request)
        let format = try Self.format(&query)
        try query.refuseRest()
        let store = self.store
        let events = try await withDatabaseDeadline { try await store.readStored(streamID: id) }
        guard !events.isEmpty else {
            throw Problem(status: .notFound, title: "Not found", detail: "no stream has the id \(id)")
        }
        var buffer = ByteBuffer()
        for event in events { buffer.writeBytes(format.line(event)) }
        return Self.ndjson(ResponseBody(byteBuffer: buffer))
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
