/// Who a complaint, appeal or referral belongs to, as far as access goes: the lodging side (the office that lodged
/// it, the source of a referral), the handling side (the programme it is assigned to, the receiver of a referral),
/// and the areas it concerns.
public struct Parties: Sendable, Hashable {
    public var lodging: Set<String>
    public var handling: Set<String>
    public var areas: Set<String>
    public var sensitive: Bool
    /// The commands the coordinators of its areas may send besides escalations and notes (triage: see
    /// `AccessPolicy.coordinatorMay`).
    public var coordinated: Set<String>

    public init(
        lodging: Set<String>, handling: Set<String>, areas: Set<String>, sensitive: Bool = false,
        coordinated: Set<String> = []
    ) {
        self.lodging = lodging
        self.handling = handling
        self.areas = areas
        self.sensitive = sensitive
        self.coordinated = coordinated
    }
}

/// Which side of a case sends a command.
public enum CommandSide: Sendable, Hashable {
    case lodging, handling, either
}

/// A stream kind whose states say who they belong to, and whose commands say which side sends them.
public protocol HasParties: StateMachine {
    static func parties(_ state: State) -> Parties
    /// The office or programme code that a creation command names as its author (the lodging office, the source).
    static func author(of command: Command) -> String?
    static func side(of command: CommandName) -> CommandSide
}

/// Who may read and act on what (brief, invariant 6). Outside its scope a caller is told the case does not exist.
public enum AccessPolicy {
    /// An office or programme reads what it lodged or sent and what is assigned or addressed to it; a coordinator
    /// what concerns an area within its own (`catalog` knows the area tree); an auditor and an admin everything.
    /// A sensitive case (a sensitive complaint and what follows from it) is seen only by the focal points of the
    /// programmes on its sides and by admins and auditors; its lodging office reads it redacted (`reading`).
    public static func canRead(_ principal: Principal, _ parties: Parties, catalog: ReferenceCatalog) -> Bool {
        let scope = principal.scope ?? ""
        let handles = Self.handles(principal, parties, catalog: catalog)
        switch principal.role {
        case .admin, .auditor: return true
        case .office, .programme:
            // A sensitive case: only the focal points of the programmes on its sides (the programme handling a
            // complaint or owning the service type a referral is addressed to, both ends of a referral made from
            // it); an office is never a focal point.
            if parties.sensitive {
                return principal.role == .programme && principal.focalPoint
                    && (handles || parties.lodging.contains(scope))
            }
            return handles || parties.lodging.contains(scope)
        case .coordinator:
            return !parties.sensitive && parties.areas.contains { catalog.isWithin(area: $0, ancestor: scope) }
        }
    }

    /// How much of a case a principal reads.
    public enum Reading: Sendable, Hashable {
        case none
        /// The lodging office of a sensitive case: the tracking code, status, loop and the outcome to tell the
        /// person; no texts, no person. Enough to send `redactedCommands`.
        case redacted
        case full
    }

    /// What the lodging side of a sensitive case may send through its redacted view: tell the person, close, and
    /// reopen when the person is not satisfied (which opens the appeal, sensitive too).
    public static let redactedCommands: Set<String> = [
        "notify_complainant", "notify_appellant", "close", "reopen", "acknowledge_feedback",
    ]

    /// The one rule reads, lists and commands follow: `canRead` (full; lists hold exactly these cases), else the
    /// redacted view for the office or programme that lodged a sensitive case.
    public static func reading(_ principal: Principal, _ parties: Parties, catalog: ReferenceCatalog) -> Reading {
        if self.canRead(principal, parties, catalog: catalog) { return .full }
        let lodging = [.office, .programme].contains(principal.role) && parties.lodging.contains(principal.scope ?? "")
        return parties.sensitive && lodging ? .redacted : .none
    }

    /// Whether `principal` may send `command` to a case it can read: the lodging side sends the lodging side's
    /// commands (notify, close, cancel, acknowledge feedback, ...), the handling side its own (acknowledge,
    /// assign, resolve, accept, complete, post feedback, ...); a coordinator escalates, adds notes and triages
    /// (`coordinatorMay`); auditors write nothing; admin may do anything.
    public static func canAct(
        _ principal: Principal, command: String, side: CommandSide, _ parties: Parties, catalog: ReferenceCatalog
    ) -> Bool {
        switch self.reading(principal, parties, catalog: catalog) {
        case .none: return false
        case .redacted: return self.redactedCommands.contains(command) && side != .handling
        case .full: break
        }
        let scope = principal.scope ?? ""
        switch principal.role {
        case .admin: return true
        case .auditor: return false
        case .coordinator: return Self.coordinatorMay(command, parties)
        case .office, .programme:
            let handles = Self.handles(principal, parties, catalog: catalog)
            let lodging = (parties.lodging.contains(scope) || Self.actsForLodging(principal, parties, handles))
            return (lodging && side != .handling) || (handles && side != .lodging)
        }
    }

    /// Whether `principal` reads the person's details: the roles that need them to act (the office that tells the
    /// complainant, the programme that serves the person, admin); coordinators and auditors see the case without.
    public static func readsPerson(_ principal: Principal) -> Bool {
        [.office, .programme, .admin].contains(principal.role)
    }

    /// Whether `principal` reads a case's free texts (description, notes, findings, reasons): the sides that lodged
    /// or handle it, admin, and coordinators (who take escalations and move stuck complaints on). Auditors check
    /// the process, not what people wrote: they see each event without its texts.
    public static func readsTexts(_ principal: Principal) -> Bool {
        principal.role != .auditor
    }

    // MARK: Handling side and coordinators (no dead ends)

    /// Whether `principal` is on the case's handling side: its scope is the handling programme or service type, or
    /// a programme that owns the service type the case is addressed to (HEALTH works referrals to NUTRITION). A
    /// service type without a programme (GBV-SUPPORT) is its own receiver scope.
    public static func handles(_ principal: Principal, _ parties: Parties, catalog: ReferenceCatalog) -> Bool {
        guard principal.role == .programme || principal.role == .office, let scope = principal.scope else {
            return false
        }
        return parties.handling.contains { $0 == scope || catalog.serviceType($0)?.programme == scope }
    }

    /// The handling programme's focal point of a sensitive case sends the lodging side's commands too (tells the
    /// complainant, closes), beside the lodging office's redacted view: either can close the loop.
    static func actsForLodging(_ principal: Principal, _ parties: Parties, _ handles: Bool) -> Bool {
        parties.sensitive && principal.focalPoint && handles
    }

    /// The codes whose cases a programme-role scope handles: itself and the service types it owns.
    public static func handledCodes(by scope: String, catalog: ReferenceCatalog) -> [String] {
        [scope] + catalog.serviceTypes.values.filter { $0.programme == scope }.map(\.code).sorted()
    }

    /// A coordinator escalates and adds notes anywhere in its area, and sends what the case lets its area's
    /// coordinators send (`Parties.coordinated`: a complaint's triage and transfer); it never resolves or decides.
    public static func coordinatorMay(_ command: String, _ parties: Parties) -> Bool {
        ["escalate", "add_note"].contains(command) || parties.coordinated.contains(command)
    }

    /// Whether `principal` may create a case whose author (lodging office or referral source) is `author`.
    public static func canCreate(_ principal: Principal, author: String?) -> Bool {
        switch principal.role {
        case .admin: return true
        case .office, .programme: return author != nil && author == principal.scope
        case .auditor, .coordinator: return false
        }
    }
}

extension Complaint: HasParties {
    public static func parties(_ state: State) -> Parties {
        Parties(
            lodging: [state.office], handling: Set([state.programme].compactMap { $0 }),
            areas: [state.area], sensitive: state.sensitive, coordinated: Self.coordinated(state))
    }

    /// The area's coordinators triage a complaint lodged without a programme (acknowledge it, assign it to one)
    /// and transfer one stuck with the wrong programme.
    static func coordinated(_ state: State) -> Set<String> {
        let triage: Set<String> = state.programme == nil ? ["acknowledge", "assign"] : []
        return triage.union(["transfer"])
    }

    /// The office tells the complainant and closes; the programme works the complaint; both may escalate, add
    /// notes, refuse it as out of scope or see it withdrawn.
    public static func side(of command: CommandName) -> CommandSide {
        switch command {
        case .lodge, .notifyComplainant, .close, .reopen, .withdraw: .lodging
        case .acknowledge, .assign, .transfer, .recordFinding, .resolve: .handling
        case .escalate, .addNote, .rejectOutOfScope: .either
        }
    }

    public static func author(of command: Command) -> String? {
        guard case .lodge(let lodgement) = command else { return nil }
        return lodgement.office
    }
}

extension Appeal: HasParties {
    public static func parties(_ state: State) -> Parties {
        Parties(lodging: [state.office], handling: [state.programme], areas: [state.area], sensitive: state.sensitive)
    }

    /// The programme's review acknowledges, assigns and decides; the appellant withdraws through the lodging office;
    /// either side may add notes, tell the appellant and close.
    public static func side(of command: CommandName) -> CommandSide {
        switch command {
        case .lodge, .withdraw: .lodging
        case .acknowledge, .assign, .decide: .handling
        case .addNote, .notifyAppellant, .close: .either
        }
    }

    public static func author(of command: Command) -> String? {
        guard case .lodge(let lodgement) = command else { return nil }
        return lodgement.office
    }
}

extension Referral: HasParties {
    /// The source (an office or a programme) sends; the receiver (a programme or service) serves.
    public static func parties(_ state: State) -> Parties {
        Parties(lodging: [state.source], handling: [state.receiver], areas: [], sensitive: state.sensitive)
    }

    /// The source creates, redirects, cancels and acknowledges the feedback; the receiver does the rest.
    public static func side(of command: CommandName) -> CommandSide {
        switch command {
        case .create, .redirect, .cancel, .acknowledgeFeedback: .lodging
        case .acknowledge, .accept, .decline, .startService, .complete, .postFeedback: .handling
        }
    }

    public static func author(of command: Command) -> String? {
        guard case .create(let request) = command else { return nil }
        return request.source
    }
}
