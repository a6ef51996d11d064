import ConcordCore
import Foundation

/// The one path every command on a complaint, appeal or referral takes, from the request to the stored events and
/// the answer. An attempt loads the case, checks that the sender may read it, that the reference codes it names
/// exist and fit, completes it from the reference data, checks that the sender's side may send it, decides, seals
/// the person's data and appends with the loaded version as the expected one. A concurrent change between load
/// and append retries the whole attempt, checks included, on the new state.
///
/// With an Idempotency-Key, a request already answered gets the original answer (the case as of then), whatever
/// changed since: the append checks the key under the append lock, and any refusal of an attempt (not found, not
/// allowed, not allowed now) first asks whether the key was answered before. A creation's tracking code is derived
/// from the key, so racing copies of one request name the same stream and the loser reads the winner's answer.
public struct CaseCommands<Kind: CaseKind>: Sendable {
    public let repository: CaseRepository<Kind>
    /// The reference data the checks and completions read, current as of each attempt.
    public let reference: ReferenceData
    /// The users an assignment's officer must be one of; nil: officers are not checked (workloads, benches).
    public let users: UserStore?

    public init(store: EventStore, vault: PersonalDataVault?, reference: ReferenceData, users: UserStore? = nil) {
        self.repository = CaseRepository(store: store, vault: vault)
        self.reference = reference
        self.users = users
    }

    var store: EventStore { self.repository.store }

    /// Who sends a command: a caller whose access the policy checks, or Concord itself (the overdue escalation, a
    /// follow-up), which the policy does not restrict.
    public enum Sender: Sendable, Hashable {
        case principal(Principal)
        case concord
    }

    /// What `If-Match` asked for.
    public enum IfMatch: Sendable, Hashable {
        /// `*`: any current version of an existing case.
        case any
        case version(Int64)
    }

    /// One request for a command: who sends it, how it is recorded, and how it is identified for idempotency.
    public struct Request: Sendable {
        public var sender: Sender
        public var metadata: EventMetadata
        public var idempotencyKey: String?
        /// What identifies the request besides its key (who sent it, where, and what): a retry must match it.
        public var requestDigest: [UInt8]?
        public var ifMatch: IfMatch?

        public init(
            sender: Sender, metadata: EventMetadata, idempotencyKey: String? = nil, requestDigest: [UInt8]? = nil,
            ifMatch: IfMatch? = nil
        ) {
            self.sender = sender
            self.metadata = metadata
            self.idempotencyKey = idempotencyKey
            self.requestDigest = requestDigest
            self.ifMatch = ifMatch
        }
    }

    /// What a command did: the case as of its last event, whether this answer repeats an earlier request's, and
    /// the follow-ups it ran.
    public struct Answer: Sendable {
        public var id: String
        public var loaded: CaseRepository<Kind>.Loaded
        public var replayed: Bool
        public var followUps: [FollowUp]
    }

    /// Why the pipeline refused, besides the domain's `Rejection` (thrown as is).
    public enum Refusal: Error, Sendable, Hashable {
        /// No such case, or none the sender may read: the two are not told apart.
        case notFound(id: String)
        /// The sender may read the case but its side may not send this command.
        case notAllowed(command: String)
        /// The sender may not create a case authored by the office or source it names.
        case notYoursToCreate(field: String)
        /// Reference codes the reference data does not define, or that do not fit.
        case unfitReferenceCodes([FieldProblem])
        /// `If-Match` named another version than the case's current one.
        case versionMismatch(current: Int64)
        /// The idempotency key was used before for a different request.
        case idempotencyKeyReused
        /// The case changed under us more times than it is worth retrying.
        case tooBusy
        /// The command was recorded, but a follow-up carrying the person could not be: their data was erased.
        case followUpErased(command: String)
    }

    // MARK: Creation

    /// Creates a case with `command` (a lodgement or a referral) under a tracking code the server chooses: derived
    /// from the idempotency key when there is one, so that every copy of the request names the same case.
    public func create(_ command: Kind.Command, _ request: Request) async throws -> Answer {
        try await self.replayingWhenRefused(request) {
            let command = try await self.inheritingFromComplaint(command, request)
            var codes = Self.trackingCodes(for: request)
            for _ in 0..<8 {
                let id = TrackingCode.generate(kind: Kind.trackingKind, using: &codes).text
                if let answer = try await self.attemptCreation(id, command, request) { return answer }
            }
            throw Refusal.tooBusy
        }
    }

    /// A case that follows from a complaint takes from it what the complaint decides: an appeal against a
    /// sensitive complaint's outcome is sensitive too, however it is lodged; a referral made from a complaint
    /// (`complaint_id`) is sensitive when the complaint is, and its person and texts are sealed under the
    /// complainant's subject. The complaint is read from the log without keys (sensitivity and subject are in
    /// clear); a referral may name only a complaint its sender can read. Other creations are returned as they are.
    func inheritingFromComplaint(_ command: Kind.Command, _ request: Request) async throws -> Kind.Command {
        if case .lodge(var lodgement)? = command as? Appeal.Command, !lodgement.sensitive,
            case .complaintOutcome(let complaintID) = lodgement.subject
        {
            let complaint = try await CaseRepository<Complaint>(store: self.store).load(complaintID)
            guard complaint.state?.sensitive == true else { return command }
            lodgement.sensitive = true
            return Appeal.Command.lodge(lodgement) as? Kind.Command ?? command
        }
        guard case .create(var referral)? = command as? Referral.Command, let complaintID = referral.complaintID
        else { return command }
        let complaint = try await CaseRepository<Complaint>(store: self.store).load(complaintID)
        guard let state = complaint.state, self.senderReads(Complaint.parties(state), request) else {
            throw Refusal.unfitReferenceCodes([
                FieldProblem(field: "complaint_id", reason: "names no complaint \(complaintID) that you can see")
            ])
        }
        referral.sensitive = state.sensitive
        if case .clear(var person) = referral.person, person.subject == nil {
            person.subject = FreeText.subject(of: complaint.events)
            referral.person = .clear(person)
        }
        return Referral.Command.create(referral) as? Kind.Command ?? command
    }

    private func senderReads(_ parties: Parties, _ request: Request) -> Bool {
        guard case .principal(let principal) = request.sender else { return true }
        return AccessPolicy.canRead(principal, parties, catalog: self.reference.catalog)
    }

    /// The tracking codes to try for a creation: a sequence fixed by the sender and the key, else random.
    static func trackingCodes(for request: Request) -> SeededGenerator {
        guard let key = request.idempotencyKey else {
            var random = SystemRandomNumberGenerator()
            return SeededGenerator(state: random.next())
        }
        let sender =
            switch request.sender {
            case .principal(let principal): principal.requester
            case .concord: "concord"
            }
        return SeededGenerator(seed: "\(Kind.streamType)#\(sender)#\(key)")
    }

    /// One creation under `id`; nil when `id` is taken by another case (the caller tries the next code).
    private func attemptCreation(
        _ id: String, _ command: Kind.Command, _ request: Request
    ) async throws -> Answer? {
        if case .principal(let principal) = request.sender {
            guard AccessPolicy.canCreate(principal, author: Kind.author(of: command)) else {
                throw Refusal.notYoursToCreate(field: Kind.authorField)
            }
        }
        try self.checkCodes(in: command, state: nil)
        let decided = try Kind.decide(command, state: nil).get()
        do {
            return try await self.append(decided, to: id, after: .none, request)
        } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
            return nil
        }
    }

    // MARK: Commands on a case

    /// Runs `command` on case `id`, checking in every attempt, against the state loaded for it, that the sender
    /// may read the case and send the command.
    public func send(_ command: Kind.Command, to id: String, _ request: Request) async throws -> Answer {
        try await self.replayingWhenRefused(request) {
            for _ in 0..<20 {
                let loaded = try await self.repository.load(id)
                let command = try await self.checked(command, on: loaded, id: id, request)
                let decided = try Kind.decide(command, state: loaded.state).get()
                do {
                    return try await self.append(decided, to: id, after: loaded, request)
                } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                    if case .version = request.ifMatch {
                        throw Refusal.versionMismatch(current: error.currentVersion ?? 0)
                    }
                    continue  // someone else changed the case: check and decide again on what it holds now
                }
            }
            throw Refusal.tooBusy
        }
    }

    /// The command completed from the reference data, if the sender may send it to the case as loaded.
    private func checked(
        _ command: Kind.Command, on loaded: CaseRepository<Kind>.Loaded, id: String, _ request: Request
    ) async throws -> Kind.Command {
        let catalog = self.reference.catalog
        guard let state = loaded.state else { throw Refusal.notFound(id: id) }
        if case .principal(let principal) = request.sender {
            guard AccessPolicy.reading(principal, Kind.parties(state), catalog: catalog) != .none else {
                throw Refusal.notFound(id: id)
            }
        }
        if case .version(let expected) = request.ifMatch, expected != loaded.version {
            throw Refusal.versionMismatch(current: loaded.version)
        }
        try self.checkCodes(in: command, state: state)
        let completed = Kind.completing(command, state: state, catalog: catalog)
        if case .principal(let principal) = request.sender {
            let name = Kind.name(of: completed)
            guard
                AccessPolicy.canAct(
                    principal, command: name.rawValue, side: Kind.side(of: name), Kind.parties(state),
                    catalog: catalog)
            else { throw Refusal.notAllowed(command: name.rawValue) }
        }
        return try await self.officerChecked(completed, request)
    }

    /// An assignment's officer: the login of an active user of the programme assigned (422 naming `officer`
    /// otherwise); when none is named and the sender is a user of that programme, the sender.
    private func officerChecked(_ command: Kind.Command, _ request: Request) async throws -> Kind.Command {
        guard let users = self.users, let assignment = Kind.officerAssignment(in: command) else { return command }
        guard let officer = assignment.officer else {
            guard case .principal(let principal) = request.sender, let user = principal.user,
                principal.role == .programme, principal.scope == assignment.programme
            else { return command }
            return Kind.assigning(user.login, in: command)
        }
        let found = try await users.find(login: officer)
        guard let found, found.active, found.role == .programme, found.scope == assignment.programme else {
            throw Refusal.unfitReferenceCodes([
                FieldProblem(
                    field: "officer",
                    reason: "no active user of programme \(assignment.programme) has the login \(officer)")
            ])
        }
        return Kind.assigning(found.login, in: command)
    }

    private func checkCodes(in command: Kind.Command, state: Kind.State?) throws(Refusal) {
        let problems = Kind.referenceProblems(in: command, state: state, catalog: self.reference.catalog)
        if !problems.isEmpty { throw Refusal.unfitReferenceCodes(problems) }
    }

    // MARK: Append, answer, replay

    /// Seals and appends `decided` to case `id` as loaded in `before`, then runs the follow-ups the new state calls
    /// for. The answer is the state the command decided, not a second read of the stream.
    func append(
        _ decided: [Kind.Event], to id: String, after before: CaseRepository<Kind>.Loaded, _ request: Request
    ) async throws -> Answer {
        var clear = decided.map { $0.eventData(metadata: request.metadata) }
        var events = clear
        if let vault = self.repository.vault {
            events = try await vault.seal(
                events, stream: self.repository.stream(id), subject: FreeText.subject(of: before.events)
            ).events
            clear = clear.map { Self.unsealedForm(of: $0, streamID: id) }
        }
        let result = try await self.store.append(
            to: self.repository.stream(id), expectedVersion: before.version == 0 ? .noStream : .exact(before.version),
            events: events, idempotencyKey: request.idempotencyKey, requestDigest: request.requestDigest)
        guard !result.replayed, let recordedAt = result.recordedAt else {
            return try await self.answer(replaying: result)
        }
        try await self.repository.vault?.index(clear.map { ($0.type, $0.payload) }, stream: result.stream)
        let loaded = before.appending(
            decided, clear, result: result, recordedAt: recordedAt, key: request.idempotencyKey)
        return Answer(
            id: id, loaded: loaded, replayed: false, followUps: try await self.runFollowUps(of: loaded, id: id, request)
        )
    }

    /// A clear event as a reader sees it once unsealed: its personal object names its subject.
    static func unsealedForm(of event: EventData, streamID: String) -> EventData {
        guard let member = PersonalData.members[event.type], case .object(var payload) = event.payload,
            case .object(var object)? = payload[member], PersonalData.form(of: .object(object)) == .clear,
            object["subject"] == nil
        else { return event }
        object["subject"] = .string(streamID)
        payload[member] = .object(object)
        var shown = event
        shown.payload = .object(payload)
        return shown
    }

    /// Runs `body`; when it is refused and the request carries a key already answered, the original answer.
    private func replayingWhenRefused(
        _ request: Request, _ body: () async throws -> Answer
    ) async throws -> Answer {
        do {
            return try await body()
        } catch {
            guard let key = request.idempotencyKey, !(error is CancellationError) else { throw error }
            // A lookup that fails (the database went away) is that failure, never the refusal: whether the key was
            // answered before is then unknown, and the caller retries.
            guard let earlier = try await self.store.idempotentAppend(forKey: key) else { throw error }
            guard request.requestDigest == nil || request.requestDigest == earlier.digest,
                earlier.result.stream.type == Kind.streamType
            else { throw Refusal.idempotencyKeyReused }
            return try await self.answer(replaying: earlier.result)
        }
    }

    /// The answer to an earlier request: the case as of that request's last event. Its follow-ups run again (each
    /// is done already or finishes what a failure between two appends left undone).
    private func answer(replaying result: AppendResult) async throws -> Answer {
        guard result.stream.type == Kind.streamType else { throw Refusal.idempotencyKeyReused }
        let id = result.stream.id
        let loaded = try await self.repository.load(id, upTo: result.lastVersion)
        // Finishes the index entries an answer that failed after its append left undone.
        try await self.repository.vault?.index(
            loaded.events.prefix(1).map { ($0.type, $0.payload) }, stream: result.stream)
        let request = Request(sender: .concord, metadata: EventMetadata())
        return Answer(
            id: id, loaded: loaded, replayed: true, followUps: try await self.runFollowUps(of: loaded, id: id, request))
    }

    // MARK: Follow-ups

    /// Creates the cases the new state calls for (the appeal a reopening opens, a redirected referral's
    /// replacement), recorded as the request's sender's; one that exists already counts as done.
    private func runFollowUps(
        of loaded: CaseRepository<Kind>.Loaded, id: String, _ request: Request
    ) async throws -> [FollowUp] {
        guard let state = loaded.state else { return [] }
        let followUps = Kind.followUps(of: state, id: id, events: loaded.domainEvents)
        let metadata = loaded.events.last?.metadata ?? request.metadata
        var follow = metadata
        follow.idempotencyKey = nil
        for followUp in followUps {
            do {
                switch followUp {
                case .lodgeAppeal(let appealID, let lodgement):
                    try await self.following(Appeal.self).createFollowUp(.lodge(lodgement), id: appealID, follow)
                case .createReferral(let referralID, let referral):
                    try await self.following(Referral.self).createFollowUp(.create(referral), id: referralID, follow)
                }
            } catch PersonalDataVault.VaultError.subjectErased {
                throw Refusal.followUpErased(command: loaded.events.last?.type ?? "")
            }
        }
        return followUps
    }

    private func following<Other: CaseKind>(_ kind: Other.Type) -> CaseCommands<Other> {
        CaseCommands<Other>(
            store: self.store, vault: self.repository.vault, reference: self.reference, users: self.users)
    }

    /// Creates case `id` for a follow-up, unless it exists.
    func createFollowUp(_ command: Kind.Command, id: String, _ metadata: EventMetadata) async throws {
        let decided = try Kind.decide(command, state: nil).get()
        do {
            _ = try await self.append(decided, to: id, after: .none, Request(sender: .concord, metadata: metadata))
        } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
            // Created by an earlier attempt of the same request.
        }
    }
}

extension CaseRepository.Loaded {
    /// A stream that has no events yet.
    static var none: Self { Self(state: nil, version: 0, events: [], domainEvents: []) }

    /// The stream after `decided` (stored as `stored`, in clear) was appended with `result`. The recorded events
    /// carry no hash: the answer does not show it, and the log holds it.
    func appending(
        _ decided: [Machine.Event], _ stored: [EventData], result: AppendResult, recordedAt: Timestamp, key: String?
    ) -> Self {
        var next = self
        for (offset, (event, data)) in zip(decided, stored).enumerated() {
            var metadata = data.metadata
            metadata.idempotencyKey = metadata.idempotencyKey ?? key
            next.events.append(
                RecordedEvent(
                    position: result.firstPosition + Int64(offset), stream: result.stream,
                    streamVersion: result.firstVersion + Int64(offset), id: data.id, type: data.type,
                    schemaVersion: data.schemaVersion, payload: data.payload, metadata: metadata,
                    recordedAt: recordedAt, hash: []))
            next.domainEvents.append(event)
            Machine.evolve(&next.state, by: event)
        }
        next.version = result.lastVersion
        return next
    }
}
