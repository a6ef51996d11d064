/// Who a complaint, appeal or referral belongs to, as far as access goes: the lodging side (the office that lodged
/// it, the source of a referral), the handling side (the programme it is assigned to, the receiver of a referral),
/// and the areas it concerns.
public struct Parties: Sendable, Hashable {
    public var lodging: Set<String>
    public var handling: Set<String>
    public var areas: Set<String>
    public var sensitive: Bool

    public init(lodging: Set<String>, handling: Set<String>, areas: Set<String>, sensitive: Bool = false) {
        self.lodging = lodging
        self.handling = handling
        self.areas = areas
        self.sensitive = sensitive
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
        switch principal.role {
        case .admin, .auditor: return true
        case .office, .programme:
            // A sensitive case: only the focal points of the programmes on its sides (the programme handling a
            // complaint, both ends of a referral made from it); an office is never a focal point.
            if parties.sensitive {
                let sides = parties.handling.union(parties.lodging)
                return principal.role == .programme && principal.focalPoint && sides.contains(scope)
            }
            return parties.handling.contains(scope) || parties.lodging.contains(scope)
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
    /// assign, resolve, accept, complete, post feedback, ...); a coordinator only escalates and adds notes;
    /// auditors write nothing; admin may do anything.
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
        case .coordinator: return ["escalate", "add_note"].contains(command)
        case .office, .programme:
            let lodging = parties.lodging.contains(scope) && side != .handling
            let handling = parties.handling.contains(scope) && side != .lodging
            return lodging || handling
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
            areas: [state.area], sensitive: state.sensitive)
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

    /// The programme's review assigns and decides; either side may tell the appellant and close.
    public static func side(of command: CommandName) -> CommandSide {
        switch command {
        case .lodge: .lodging
        case .assign, .decide: .handling
        default: .either
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
