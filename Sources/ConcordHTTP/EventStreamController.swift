import ConcordCore
import ConcordPartners
import ConcordStore
import Hummingbird
import ServiceLifecycle

/// `GET /v1/events/stream`: the case events the caller may read, as server-sent events, for dashboards. Each
/// event's `id:` is its log position, so a client that reconnects with `Last-Event-ID` (or `?after=`) goes on
/// where it stopped, without a gap or a repeat; without either it starts with the next event appended. Its `data:`
/// is the CloudEvent a webhook would carry (`CaseDisclosure`: the one access rule). A comment line every
/// `heartbeat` keeps proxies from closing an idle stream. The stream ends when the service shuts down.
struct EventStreamController: Sendable {
    let store: EventStore
    let disclosure: CaseDisclosure
    let reference: ReferenceFollower
    let heartbeat: Duration

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/events/stream") { request, context in try await self.stream(request, context) }
    }

    func stream(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let start = try await self.start(request)
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        let body = ResponseBody { writer in
            var position = start
            var lastWrite = ContinuousClock.now
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let generation = self.store.commitGeneration
                let events = try await self.store.readAll(after: position, limit: 100)
                for event in events {
                    if let cloudEvent = try await self.disclosure.cloudEvent(event, for: principal) {
                        try await writer.write(Self.frame(cloudEvent, event: event))
                        lastWrite = ContinuousClock.now
                    }
                    position = event.position
                }
                if !events.isEmpty { continue }
                if ContinuousClock.now - lastWrite >= self.heartbeat {
                    try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    lastWrite = ContinuousClock.now
                }
                // In short waits: a shutdown is noticed within a second.
                await self.store.waitForCommits(since: generation, timeout: min(self.heartbeat, .seconds(1)))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: body)
    }

    /// `id:` the position, `event:` the CloudEvents type, `data:` the CloudEvent on one line (canonical JSON
    /// escapes every line break).
    static func frame(_ cloudEvent: JSONValue, event: RecordedEvent) -> ByteBuffer {
        var buffer = ByteBuffer(string: "id: \(event.position)\nevent: ")
        buffer.writeString(cloudEvent["type"]?.stringValue ?? "")
        buffer.writeString("\ndata: ")
        buffer.writeBytes(CanonicalJSON.encode(cloudEvent))
        buffer.writeString("\n\n")
        return buffer
    }

    /// The position after which to start: `Last-Event-ID`, else `after`, else the log's head.
    func start(_ request: Request) async throws -> Int64 {
        let lastEventID = request.headers.first { $0.name.canonicalName == "last-event-id" }?.value
        if let text = lastEventID ?? request.uri.queryParameters.get("after") {
            guard let position = Int64(text.trimmingCharacters(in: .whitespaces)), position >= 0 else {
                throw Problem(
                    status: .badRequest, title: "Bad position",
                    detail: "Last-Event-ID (or after) takes the log position of the last event received, e.g. 1234",
                    field: lastEventID != nil ? "Last-Event-ID" : "after")
            }
            return position
        }
        let store = self.store
        return try await withDatabaseDeadline { try await store.head().position }
    }
}
