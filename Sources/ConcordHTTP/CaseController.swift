import ConcordCore
import ConcordStore
import Foundation
import Hummingbird

/// The routes of one stream kind (complaints, appeals or referrals): create with POST on the collection, each
/// command a POST on the case, GET a case. The same code serves the three kinds.
struct CaseController<
    Machine: HasParties & CommandRequestDecoding & StateViews & NamesReferenceCodes & HasFollowUps & Summarized
>: Sendable {
    let repository: CaseRepository<Machine>
    let reference: ReferenceFollower
    /// `complaints`, `appeals`, `referrals`.
    let collection: String
    let creation: Machine.CommandName
    let trackingKind: TrackingCode.Kind
    let clock: WallClock
    /// Work on other kinds of stream that a command calls for (a reopened complaint opens an appeal); returns
    /// members to add to the answer. Runs again on a retry, so it must be harmless to repeat.
    var afterCommand:
        (@Sendable (CaseRepository<Machine>.Loaded, String, EventMetadata) async throws -> [String: JSONValue])? =
            nil

    func addRoutes(to router: Router<ConcordRequestContext>) {
        let group = router.group(RouterPath("v1/\(self.collection)"))
        group.post { request, context in try await self.create(request, context: context) }
        group.get(":id") { request, context in try await self.show(request, context: context) }
        group.post(":id/:command") { request, context in try await self.command(request, context: context) }
    }

    func create(_ request: Request, context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let (bytes, body) = try await RequestBody.json(request, context: context)
        let command = try Self.decode(self.creation, body: body, at: self.clock.now())
        try await self.checkCodes(in: command, state: nil)
        guard AccessPolicy.canCreate(principal, author: Machine.author(of: command)) else {
            throw Problem(
                status: .unprocessableContent, title: "Not yours to create",
                detail:
                    "a \(principal.role.rawValue) token scoped to \(principal.scope ?? "nothing") cannot create this",
                field: Machine.streamType == "referral" ? "source" : "office")
        }
        let key = try Self.idempotencyKey(request)
        let digest = RequestBody.digest(request, principal: principal, body: bytes)
        let metadata = Self.metadata(principal, key: key)
        let (id, outcome) = try await Problem.mapping {
            try await self.repository.create(
                newID: {
                    var random = SystemRandomNumberGenerator()
                    return TrackingCode.generate(kind: self.trackingKind, using: &random).text
                }, idempotencyKey: key,
                requestDigest: digest, metadata: metadata, command: { _ in command })
        }
        var response = try self.render(id: id, outcome.loaded, principal: principal, status: .created)
        response.headers[.location] = "/v1/\(self.collection)/\(id)"
        return response
    }

    func command(_ request: Request, context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let name = try context.parameters.require("command")
        guard let commandName = Machine.commandName(name), commandName != self.creation else {
            throw Problem(
                status: .notFound, title: "No such command", detail: "a \(Machine.streamType) has no command '\(name)'")
        }
        let (bytes, body) = try await RequestBody.json(request, context: context)
        let at = self.clock.now()
        let decoded = try Self.decode(commandName, body: body, at: at)
        let (current, loaded) = try await self.readable(id, principal: principal)
        try await self.checkCodes(in: decoded, state: current)
        let command = Machine.completing(decoded, state: current, catalog: self.reference.data.catalog)
        guard
            AccessPolicy.canAct(
                principal, command: name, side: Machine.side(of: commandName), Machine.parties(current),
                catalog: self.reference.data.catalog)
        else {
            throw Problem(
                status: .forbidden, title: "Not allowed",
                detail: "a \(principal.role.rawValue) token may not send '\(name)' to this \(Machine.streamType)")
        }
        let key = try Self.idempotencyKey(request)
        let ifMatch = try Self.ifMatch(request)
        let outcome = try await Problem.mapping {
            try await self.repository.handle(
                id, ifMatch: ifMatch, idempotencyKey: key,
                requestDigest: RequestBody.digest(request, principal: principal, body: bytes), preloaded: loaded,
                metadata: Self.metadata(principal, key: key), command: { _ in command })
        }
        let metadata = Self.metadata(principal, key: nil)
        let extra: [String: JSONValue]
        do {
            try await self.runFollowUps(of: outcome.loaded, id: id, metadata: metadata)
            extra = try await self.afterCommand?(outcome.loaded, id, metadata) ?? [:]
        } catch PersonalDataVault.VaultError.subjectErased {
            // The follow-up (an appeal, a redirected referral) carries the person, whose data was erased between
            // the load and the seal: the command stands; a retry of the request creates the follow-up.
            throw Problem(
                status: .conflict, title: "Personal data erased",
                detail: "\(name) was recorded, but the person's data was erased meanwhile; send the request again")
        }
        return try self.render(id: id, outcome.loaded, principal: principal, status: .ok, extra: extra)
    }

    /// Creates the streams a command calls for (a redirected referral's new referral). Runs again on a retry of the
    /// request, and a stream that already exists counts as done, so a failure between the two appends heals.
    private func runFollowUps(
        of loaded: CaseRepository<Machine>.Loaded, id: String, metadata: EventMetadata
    ) async throws {
        guard let state = loaded.state else { return }
        for (streamID, command) in Machine.followUps(of: state, id: id, events: loaded.domainEvents) {
            do {
                _ = try await self.repository.handle(streamID, metadata: metadata) { _ in command }
            } catch let rejection as Rejection where rejection.currentState != "none" {
                continue  // created already
            }
        }
    }

    func show(_ request: Request, context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let (_, loaded) = try await self.readable(id, principal: principal)
        return try self.render(id: id, loaded, principal: principal, status: .ok)
    }

    /// 422 naming every programme, office or area code in `command` that the reference data does not define, or
    /// that it defines but that does not fit (an escalation that does not go one level up).
    private func checkCodes(in command: Machine.Command, state: Machine.State?) async throws {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        let problems = Machine.referenceProblems(in: command, state: state, catalog: reference.data.catalog)
        guard let first = problems.first else { return }
        var problem = Problem(
            status: .unprocessableContent, title: "Unknown or unfit reference code",
            detail: problems.map(\.description).joined(separator: "; "), field: first.field)
        problem.errors = problems.map { .init(field: $0.field, reason: $0.reason) }
        throw problem
    }

    /// The case's state if it exists and `principal` may read it; 404 otherwise (existence does not leak).
    private func readable(
        _ id: String, principal: Principal
    ) async throws -> (
        state: Machine.State, loaded: CaseRepository<Machine>.Loaded
    ) {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        let catalog = reference.data.catalog
        let loaded = try await self.repository.load(id)
        guard let state = loaded.state, AccessPolicy.canRead(principal, Machine.parties(state), catalog: catalog) else {
            throw Problem(
                status: .notFound, title: "Not found", detail: "no \(Machine.streamType) \(id) that you can see")
        }
        return (state, loaded)
    }

    private func render(
        id: String, _ loaded: CaseRepository<Machine>.Loaded, principal: Principal, status: HTTPResponse.Status,
        extra: [String: JSONValue] = [:]
    ) throws -> Response {
        guard let state = loaded.state else {
            throw Problem(status: .notFound, title: "Not found", detail: "no \(Machine.streamType) \(id)")
        }
        let history: [JSONValue] = loaded.events.map { event in
            .object([
                "position": .integer(event.position), "version": .integer(event.streamVersion),
                "type": .string(event.type), "recorded_at": .string(event.recordedAt.rfc3339),
                "actor": event.metadata.actor.map(JSONValue.string) ?? .null,
                "role": event.metadata.role.map(JSONValue.string) ?? .null,
            ])
        }
        let catalog = self.reference.data.catalog
        let loop = Machine.summary(state, id: id, catalog: catalog).loopView(at: self.clock.now()) {
            catalog.name(of: $0)
        }
        var body: JSONValue = [
            "id": .string(id), "version": .integer(loaded.version), Machine.streamType: Machine.view(state),
            "loop": loop, "events": .array(history),
        ]
        if case .object(var members) = body {
            if let (key, details) = Self.personalDetails(loaded.events, for: principal) { members[key] = details }
            members.merge(extra) { _, new in new }
            body = .object(members)
        }
        var response = JSONResponse.make(body, status: status)
        response.headers[.eTag] = "\"\(loaded.version)\""
        return response
    }

    /// The member of the creating event that holds personal data, by stream type.
    static var personalKey: String? {
        ["complaint": "complainant", "appeal": "appellant", "referral": "person"][Machine.streamType]
    }

    /// The person's details, for the roles that need them to act (the office that tells the complainant, the
    /// programme that serves the person, admin); coordinators and auditors see the case without them.
    static func personalDetails(_ events: [RecordedEvent], for principal: Principal) -> (String, JSONValue)? {
        guard [.office, .programme, .admin].contains(principal.role), let key = Self.personalKey,
            let details = events.first?.payload[key]
        else { return nil }
        return (key, details)
    }

    static func decode(_ name: Machine.CommandName, body: JSONValue, at: Timestamp) throws -> Machine.Command {
        do {
            // A redirect creates a new referral, whose tracking code the server chooses, as it does for every case.
            if let referralName = name as? Referral.CommandName, referralName == .redirect {
                var random = SystemRandomNumberGenerator()
                let newID = TrackingCode.generate(kind: .referral, using: &random).text
                if let command = try Referral.command(referralName, body: body, at: at, newReferralID: newID)
                    as? Machine.Command
                {
                    return command
                }
            }
            return try Machine.command(name, body: body, at: at)
        } catch {
            throw Problem(invalidBody: error)
        }
    }

    static func metadata(_ principal: Principal, key: String?) -> EventMetadata {
        EventMetadata(
            actor: principal.metadataActor, role: principal.role.rawValue, scope: principal.scope, idempotencyKey: key)
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers.first(where: { $0.name.canonicalName == "idempotency-key" })?.value else {
            return nil
        }
        guard (1...200).contains(key.utf8.count) else {
            throw Problem(
                status: .badRequest, title: "Bad Idempotency-Key", detail: "an Idempotency-Key has 1 to 200 characters",
                field: "Idempotency-Key")
        }
        return key
    }

    /// `If-Match: "3"` (or `3`): the version the caller acted on.
    static func ifMatch(_ request: Request) throws -> Int64? {
        guard let header = request.headers[.ifMatch] else { return nil }
        let trimmed = header.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))
        guard let version = Int64(trimmed), version >= 0 else {
            throw Problem(
                status: .badRequest, title: "Bad If-Match", detail: "If-Match takes the ETag of the case, e.g. \"3\"",
                field: "If-Match")
        }
        return version
    }
}

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(value))))
    }
}
