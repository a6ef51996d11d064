import ConcordCore
import ConcordPartners
import ConcordProjections
import ConcordStore
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// `/fhir`: referrals as FHIR R4 resources (`FHIRReferral`): read a Task or its ServiceRequest, search the Tasks
/// of an owner changed since a time, and update a Task's status from the receiver's system, which runs the
/// matching referral commands through the one command pipeline (`CaseCommands`: the same checks, idempotency and
/// access as `POST /v1/referrals/{id}/{command}`). Reads follow `AccessPolicy.reading` (full only); errors are
/// `OperationOutcome`s.
struct FHIRController: Sendable {
    let commands: CaseCommands<Referral>
    let reference: ReferenceFollower
    let client: PostgresClient
    let clock: WallClock
    let logger: Logger

    static let contentType = "application/fhir+json"

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("fhir/Task/:id") { _, context in try await Self.outcome { try await self.readTask(context) } }
        router.get("fhir/ServiceRequest/:id") { _, context in
            try await Self.outcome { try await self.readServiceRequest(context) }
        }
        router.get("fhir/Task") { request, context in try await Self.outcome { try await self.search(request, context) }
        }
        router.put("fhir/Task/:id") { request, context in
            try await Self.outcome { try await self.update(request, context) }
        }
        router.patch("fhir/Task/:id") { request, context in
            try await Self.outcome { try await self.update(request, context) }
        }
    }

    // MARK: Reads

    /// The referral as the caller reads it in full, else 404.
    private func readable(_ id: String, _ principal: Principal) async throws -> CaseRepository<Referral>.Loaded {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        let loaded = try await self.commands.repository.load(id)
        guard let state = loaded.state,
            AccessPolicy.reading(principal, Referral.parties(state), catalog: reference.data.catalog) == .full
        else { throw Problem(status: .notFound, title: "Not found", detail: "no referral \(id) that you can see") }
        return loaded
    }

    private func task(_ id: String, _ loaded: CaseRepository<Referral>.Loaded, _ principal: Principal) -> JSONValue? {
        guard let state = loaded.state else { return nil }
        return FHIRReferral.task(
            id: id, version: loaded.version, state: state, person: Self.person(loaded, principal),
            texts: AccessPolicy.readsTexts(principal), catalog: self.reference.data.catalog)
    }

    static func person(_ loaded: CaseRepository<Referral>.Loaded, _ principal: Principal) -> JSONValue? {
        AccessPolicy.readsPerson(principal) ? loaded.events.first?.payload[Referral.personalMember] : nil
    }

    func readTask(_ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let loaded = try await self.readable(id, principal)
        return Self.resource(self.task(id, loaded, principal) ?? .null, version: loaded.version)
    }

    func readServiceRequest(_ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let loaded = try await self.readable(id, principal)
        guard let state = loaded.state else { throw Problem(status: .notFound, title: "Not found", detail: id) }
        let resource = FHIRReferral.serviceRequest(
            id: id, version: loaded.version, state: state, person: Self.person(loaded, principal),
            catalog: self.reference.data.catalog)
        return Self.resource(resource, version: loaded.version)
    }

    /// `owner` (a code, `Organization/CODE` or `urn:concord:organization|CODE`) and `_lastupdated=gt<instant>` (or
    /// `ge`): the Tasks the caller reads, oldest change first, at most `_count` (50, up to 200). Reads the
    /// projection with the lists' scope, then each referral is read and checked again by `AccessPolicy`.
    func search(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let parameters = request.uri.queryParameters
        let owner = parameters.get("owner").map(Self.ownerCode)
        var since = Timestamp(microsecondsSinceEpoch: 0)
        var inclusive = false
        if let text = parameters.get("_lastupdated") {
            let (prefix, instant) = (text.prefix(2), String(text.dropFirst(2)))
            guard ["gt", "ge"].contains(prefix), case .success(let time) = Timestamp.parseRFC3339(instant) else {
                throw Problem(
                    status: .badRequest, title: "Bad search parameter",
                    detail: "_lastupdated takes gt or ge and an RFC 3339 time, e.g. gt2026-12-01T00:00:00Z",
                    field: "_lastupdated")
            }
            (since, inclusive) = (time, prefix == "ge")
        }
        let count = try Self.count(parameters.get("_count"))
        let ids = try await self.changedReferrals(
            principal, owner: owner, since: since, inclusive: inclusive, limit: count)
        var entries: [JSONValue] = []
        for id in ids {
            // Checked again case by case: a referral the projection lists but the policy refuses is left out.
            let loaded: CaseRepository<Referral>.Loaded
            do { loaded = try await self.readable(id, principal) } catch let problem as Problem
                where problem.statusCode == 404
            { continue }
            guard let task = self.task(id, loaded, principal) else { continue }
            entries.append(.object(["fullUrl": .string("Task/\(id)"), "resource": task, "search": ["mode": "match"]]))
        }
        let bundle: JSONValue = .object([
            "resourceType": "Bundle", "type": "searchset", "total": .integer(Int64(entries.count)),
            "entry": .array(entries),
        ])
        return Self.resource(bundle, version: nil)
    }

    private func changedReferrals(
        _ principal: Principal, owner: String?, since: Timestamp, inclusive: Bool, limit: Int
    ) async throws -> [String] {
        let queries = ProjectionQueries(client: self.client, logger: self.logger)
        let scope = CaseScope(readableBy: principal, catalog: self.reference.data.catalog)
        return try await withDatabaseDeadline {
            try await queries.referralsChanged(
                scope: scope, owner: owner, since: since, inclusive: inclusive, limit: limit)
        }
    }

    static func ownerCode(_ text: String) -> String {
        if let bar = text.lastIndex(of: "|") { return String(text[text.index(after: bar)...]) }
        if text.hasPrefix("Organization/") { return String(text.dropFirst("Organization/".count)) }
        return text
    }

    static func count(_ text: String?) throws -> Int {
        guard let text else { return 50 }
        guard let count = Int(text), (1...200).contains(count) else {
            throw Problem(
                status: .badRequest, title: "Bad search parameter", detail: "_count takes 1 to 200", field: "_count")
        }
        return count
    }

    // MARK: Status update

    /// Runs the commands the new status stands for, one after the other, each through the pipeline with its own
    /// idempotency key (the request's, then `<key>#2`, ...): a retried update takes effect once.
    func update(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let (bytes, body) = try await RequestBody.json(request, context: context)
        let update: FHIRTaskUpdate
        do { update = try FHIRTaskUpdate.read(body) } catch { throw Problem(invalidBody: error) }
        if request.method == .put, let bodyID = body["id"]?.stringValue, bodyID != id {
            throw Problem(
                status: .badRequest, title: "Invalid request body", detail: "id must be \(id), the Task's id",
                field: "id")
        }
        var loaded = try await self.readable(id, principal)
        guard let state = loaded.state else { throw Problem(status: .notFound, title: "Not found", detail: id) }
        let commands = try await Problem.mapping {
            do { return try update.commands(from: state, at: self.clock.now()) } catch let error as CommandRequestError
            {
                throw Problem(invalidBody: error)
            }
        }
        let key = try CaseController<Referral>.idempotencyKey(request)
        var ifMatch = try CaseController<Referral>.ifMatch(request)
        for (index, command) in commands.enumerated() {
            let stepKey = key.map { index == 0 ? $0 : "\($0)#\(index + 1)" }
            let pipelineRequest = CaseCommands<Referral>.Request(
                sender: .principal(principal), metadata: principal.eventMetadata(idempotencyKey: stepKey),
                idempotencyKey: stepKey, requestDigest: RequestBody.digest(request, principal: principal, body: bytes),
                ifMatch: ifMatch)
            loaded = try await Problem.mapping { try await self.commands.send(command, to: id, pipelineRequest) }
                .loaded
            ifMatch = nil
        }
        return Self.resource(self.task(id, loaded, principal) ?? .null, version: loaded.version)
    }

    // MARK: Answers

    static func resource(_ value: JSONValue, version: Int64?) -> Response {
        var response = Response(
            status: .ok, headers: [.contentType: Self.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(value))))
        if let version { response.headers[.eTag] = "W/\"\(version)\"" }
        return response
    }

    /// Runs a handler, answering its problems as `OperationOutcome`s with the same status.
    static func outcome(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let problem as Problem {
            let outcome = FHIROutcome.make(
                status: problem.statusCode, detail: problem.detail, field: problem.field,
                currentState: problem.currentState)
            return Response(
                status: problem.status, headers: [.contentType: Self.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(outcome))))
        }
    }
}

/// An `OperationOutcome` for a refused FHIR request.
enum FHIROutcome {
    static func make(status: Int, detail: String, field: String?, currentState: String?) -> JSONValue {
        var issue: [String: JSONValue] = [
            "severity": "error", "code": .string(Self.code(status)), "diagnostics": .string(detail),
        ]
        if let field, !field.isEmpty { issue["expression"] = .array([.string(field)]) }
        if let currentState { issue["details"] = .object(["text": .string("the referral is \(currentState)")]) }
        return .object(["resourceType": "OperationOutcome", "issue": .array([.object(issue)])])
    }

    static func code(_ status: Int) -> String {
        switch status {
        case 401: "login"
        case 403: "forbidden"
        case 404: "not-found"
        case 409, 412: "conflict"
        case 413, 415: "not-supported"
        case 422: "business-rule"
        case 500...: "transient"
        default: "invalid"
        }
    }
}
