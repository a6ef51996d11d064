import ConcordCore
import ConcordStore
import Hummingbird

/// Data subjects for admins: their status, a legal hold, and erasure of their personal data.
struct SubjectController: Sendable {
    let subjects: DataSubjects
    let clock: WallClock

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/subjects/:id") { _, context in try await self.show(context) }
        router.post("v1/subjects/:id/erasure") { request, context in
            try await self.run(.erase, request, context)
        }
        router.post("v1/subjects/:id/legal-hold") { request, context in
            try await self.run(.setLegalHold, request, context)
        }
        router.post("v1/subjects/:id/legal-hold/release") { request, context in
            try await self.run(.releaseLegalHold, request, context)
        }
    }

    func show(_ context: ConcordRequestContext) async throws -> Response {
        let id = try Self.subject(context)
        let status = try await Self.mapping { try await withDatabaseDeadline { try await self.subjects.status(id) } }
        return Self.render(id, status)
    }

    func run(
        _ name: DataSubject.CommandName, _ request: Request, _ context: ConcordRequestContext
    ) async throws -> Response {
        let id = try Self.subject(context)
        let principal = try context.requirePrincipal()
        let (_, body) = try await RequestBody.json(request, context: context)
        let command: DataSubject.Command
        do {
            command = try DataSubject.command(name, body: body, at: self.clock.now())
        } catch {
            throw Problem(invalidBody: error)
        }
        let metadata = principal.eventMetadata()
        let (status, _) = try await Self.mapping {
            try await self.subjects.run(id, metadata: metadata) { _ in command }
        }
        return Self.render(id, status)
    }

    static func render(_ id: String, _ status: DataSubjects.Status) -> Response {
        guard case .object(var members) = status.view else { return JSONResponse.make(.null, status: .ok) }
        members["subject"] = .string(id)
        members["events"] = .array(
            status.loaded.events.map { event in
                [
                    "type": .string(event.type), "recorded_at": .string(event.recordedAt.rfc3339),
                    "actor": event.metadata.actor.map(JSONValue.string) ?? .null, "payload": event.payload,
                ]
            })
        return JSONResponse.make(.object(members), status: .ok)
    }

    /// Only admins manage data subjects; the id is checked before it reaches the database.
    static func subject(_ context: ConcordRequestContext) throws -> String {
        let principal = try context.requirePrincipal()
        guard principal.role == .admin else {
            throw Problem(status: .forbidden, title: "Not allowed", detail: "only admin tokens manage data subjects")
        }
        let id = try context.parameters.require("id")
        guard (1...64).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw Problem(
                status: .badRequest, title: "Bad subject", detail: "a subject id is a case id such as C-7KQ2-M4X",
                field: "id")
        }
        return id
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await Problem.mapping(body)
        } catch DataSubjects.Refusal.unknownSubject(let id) {
            throw Problem(
                status: .notFound, title: "Not found", detail: "no personal data was recorded for subject \(id)")
        }
    }
}
