import ConcordCore
import ConcordStore
import Foundation
import Hummingbird

/// The routes of one case kind (complaints, appeals or referrals): create with POST on the collection, each
/// command a POST on the case, GET a case. Only the HTTP translation lives here: the command itself, its checks and
/// its retries belong to `CaseCommands`.
struct CaseController<Kind: CaseKind>: Sendable {
    let commands: CaseCommands<Kind>
    let reference: ReferenceFollower
    /// `complaints`, `appeals`, `referrals`.
    let collection: String
    let clock: WallClock

    var repository: CaseRepository<Kind> { self.commands.repository }

    func addRoutes(to router: Router<ConcordRequestContext>) {
        let group = router.group(RouterPath("v1/\(self.collection)"))
        group.post { request, context in try await self.create(request, context: context) }
        group.get(":id") { request, context in try await self.show(request, context: context) }
        group.get(":id/redacted") { request, context in
            try await self.show(request, context: context, redacted: true)
        }
        group.post(":id/:command") { request, context in try await self.command(request, context: context) }
    }

    func create(_ request: Request, context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let (bytes, body) = try await RequestBody.json(request, context: context)
        let command = try Self.decode(Kind.creation, body: body, at: self.clock.now())
        let pipelineRequest = try self.pipelineRequest(request, principal: principal, body: bytes)
        try await self.referenceReady()
        let answer = try await Problem.mapping { try await self.commands.create(command, pipelineRequest) }
        var response = try self.render(answer, principal: principal, status: .created)
        response.headers[.location] = "/v1/\(self.collection)/\(answer.id)"
        return response
    }

    func command(_ request: Request, context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let name = try context.parameters.require("command")
        guard let commandName = Kind.commandName(name), commandName != Kind.creation else {
            throw Problem(
                status: .notFound, title: "No such command", detail: "a \(Kind.streamType) has no command '\(name)'")
        }
        let (bytes, body) = try await RequestBody.json(request, context: context)
        let command = try Self.decode(commandName, body: body, at: self.clock.now())
        let pipelineRequest = try self.pipelineRequest(request, principal: principal, body: bytes)
        try await self.referenceReady()
        let answer = try await Problem.mapping { try await self.commands.send(command, to: id, pipelineRequest) }
        return try self.render(answer, principal: principal, status: .ok)
    }

    private func pipelineRequest(
        _ request: Request, principal: Principal, body: [UInt8]
    ) throws -> CaseCommands<Kind>.Request {
        let key = try Self.idempotencyKey(request)
        return CaseCommands<Kind>.Request(
            sender: .principal(principal), metadata: Self.metadata(principal, key: key), idempotencyKey: key,
            requestDigest: RequestBody.digest(request, principal: principal, body: body),
            ifMatch: try Self.ifMatch(request))
    }

    private func referenceReady() async throws {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
    }

    /// A case in full for those who read it; `redacted`: the redacted view, for them and for the lodging office of
    /// a sensitive case (`AccessPolicy.reading`).
    func show(_ request: Request, context: ConcordRequestContext, redacted: Bool = false) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        try await self.referenceReady()
        let loaded = try await self.repository.load(id)
        let reading = loaded.state.map {
            AccessPolicy.reading(principal, Kind.parties($0), catalog: self.reference.data.catalog)
        }
        guard reading == .full || (redacted && reading == .redacted) else {
            throw Problem(status: .notFound, title: "Not found", detail: "no \(Kind.streamType) \(id) that you can see")
        }
        return try self.render(.init(id: id, loaded: loaded), principal: principal, status: .ok, redacted: redacted)
    }

    /// What a case's answer shows: the case as loaded, and the members its follow-ups add.
    struct Shown {
        var id: String
        var loaded: CaseRepository<Kind>.Loaded
        var followUps: [FollowUp] = []
    }

    private func render(
        _ answer: CaseCommands<Kind>.Answer, principal: Principal, status: HTTPResponse.Status
    ) throws -> Response {
        try self.render(
            Shown(id: answer.id, loaded: answer.loaded, followUps: answer.followUps), principal: principal,
            status: status)
    }

    private func render(
        _ shown: Shown, principal: Principal, status: HTTPResponse.Status, redacted: Bool = false
    ) throws -> Response {
        let loaded = shown.loaded
        guard let state = loaded.state else {
            throw Problem(status: .notFound, title: "Not found", detail: "no \(Kind.streamType) \(shown.id)")
        }
        let catalog = self.reference.data.catalog
        let loop = Kind.summary(state, id: shown.id, catalog: catalog).loopView(at: self.clock.now()) {
            catalog.name(of: $0)
        }
        var members: [String: JSONValue] = [
            "id": .string(shown.id), "version": .integer(loaded.version), "loop": loop,
        ]
        for case let (name, value)? in shown.followUps.map(\.answerMember) { members[name] = .string(value) }
        // The lodging office of a sensitive case reads it only redacted, whatever route it came by.
        if redacted || AccessPolicy.reading(principal, Kind.parties(state), catalog: catalog) == .redacted {
            members[Kind.streamType] = Kind.redactedView(state, id: shown.id, catalog: catalog)
            members["redacted"] = true
            var response = JSONResponse.make(.object(members), status: status)
            response.headers[.eTag] = "\"\(loaded.version)\""
            return response
        }
        members[Kind.streamType] = Self.yours(
            Self.view(state, loaded.events, for: principal), state, for: principal, catalog: catalog)
        members["events"] = .array(Self.history(loaded.events, for: principal))
        if let details = Self.personalDetails(loaded.events, for: principal) { members[Kind.personalMember] = details }
        var response = JSONResponse.make(.object(members), status: status)
        response.headers[.eTag] = "\"\(loaded.version)\""
        return response
    }

    /// The person's details, for the roles that need them to act (`AccessPolicy.readsPerson`).
    static func personalDetails(_ events: [RecordedEvent], for principal: Principal) -> JSONValue? {
        guard AccessPolicy.readsPerson(principal) else { return nil }
        return events.first?.payload[Kind.personalMember]
    }

    /// The case's view, with its texts for the roles that read them (`AccessPolicy.readsTexts`).
    static func view(_ state: Kind.State, _ events: [RecordedEvent], for principal: Principal) -> JSONValue {
        guard AccessPolicy.readsTexts(principal), case .object(var members) = Kind.view(state) else {
            return Kind.view(state)
        }
        members.merge(CaseTexts.view(events)) { _, text in text }
        return .object(members)
    }

    /// The view with `your_commands`: of the `allowed_commands` of its state, those `principal` may send now (its
    /// role, scope and side), so that a client offers only those.
    static func yours(
        _ view: JSONValue, _ state: Kind.State, for principal: Principal, catalog: ReferenceCatalog
    ) -> JSONValue {
        guard case .object(var members) = view, case .array(let names)? = members["allowed_commands"] else {
            return view
        }
        let yours = Set(Self.yourCommands(state, for: principal, catalog: catalog).map(\.rawValue))
        members["your_commands"] = .array(names.filter { name in name.stringValue.map(yours.contains) == true })
        return .object(members)
    }

    /// Of the commands `state` allows, those `principal` may send now (its role, scope and side): the API's
    /// `your_commands` and the forms of the case pages.
    static func yourCommands(
        _ state: Kind.State, for principal: Principal, catalog: ReferenceCatalog
    ) -> [Kind.CommandName] {
        let parties = Kind.parties(state)
        return Kind.allowedCommands(in: state).filter { command in
            AccessPolicy.canAct(
                principal, command: command.rawValue, side: Kind.side(of: command), parties, catalog: catalog)
        }
    }

    /// The case's events as `principal` may see them: each with its `content` (the payload without the person or
    /// the texts for the roles that do not read them).
    static func history(_ events: [RecordedEvent], for principal: Principal) -> [JSONValue] {
        let (texts, person) = (AccessPolicy.readsTexts(principal), AccessPolicy.readsPerson(principal))
        return events.map { event in
            .object([
                "position": .integer(event.position), "version": .integer(event.streamVersion),
                "type": .string(event.type), "recorded_at": .string(event.recordedAt.rfc3339),
                "actor": event.metadata.actor.map(JSONValue.string) ?? .null,
                "role": event.metadata.role.map(JSONValue.string) ?? .null,
                "content": CaseTexts.content(event, texts: texts, person: person),
            ])
        }
    }

    /// The command a body asks for. A command that creates another case (a redirect) gets the tracking code the
    /// server chose for it, as every case does.
    static func decode(_ name: Kind.CommandName, body: JSONValue, at: Timestamp) throws -> Kind.Command {
        var random = SystemRandomNumberGenerator()
        let newCaseID = TrackingCode.generate(kind: Kind.trackingKind, using: &random).text
        do {
            return try Kind.command(name, body: body, at: at, newCaseID: newCaseID)
        } catch {
            throw Problem(invalidBody: error)
        }
    }

    static func metadata(_ principal: Principal, key: String?) -> EventMetadata {
        principal.eventMetadata(idempotencyKey: key)
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

    /// `If-Match`: the case's ETag (`"3"`, or `W/"3"`, or a bare `3` from a hurried client), or `*` for any
    /// current version. Anything else is refused, never read as a version.
    static func ifMatch(_ request: Request) throws -> CaseCommands<Kind>.IfMatch? {
        guard let header = request.headers[.ifMatch] else { return nil }
        var text = Substring(header.trimmingCharacters(in: .whitespaces))
        if text == "*" { return .any }
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = text.dropFirst().dropLast() }
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let version = Int64(text)
        else {
            throw Problem(
                status: .badRequest, title: "Bad If-Match",
                detail: "If-Match takes the ETag of the case, e.g. \"3\", or *", field: "If-Match")
        }
        return .version(version)
    }
}

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(value))))
    }
}
