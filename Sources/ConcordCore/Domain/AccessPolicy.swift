/// Who a complaint, appeal or referral belongs to, as far as access goes: the offices that lodged or sent it, the
/// programmes it is assigned or addressed to, and the areas it concerns.
public struct Parties: Sendable, Hashable {
    public var offices: Set<String>
    public var programmes: Set<String>
    public var areas: Set<String>
    public var sensitive: Bool

    public init(offices: Set<String>, programmes: Set<String>, areas: Set<String>, sensitive: Bool = false) {
        self.offices = offices
        self.programmes = programmes
        self.areas = areas
        self.sensitive = sensitive
    }
}

/// A stream kind whose states say who they belong to.
public protocol HasParties: StateMachine {
    static func parties(_ state: State) -> Parties
    /// The office or programme code that a creation command names as its author (the lodging office, the source).
    static func author(of command: Command) -> String?
}

/// Who may read and act on what (brief, invariant 6). Outside its scope a caller is told the case does not exist.
public enum AccessPolicy {
    /// An office reads what it lodged or sent; a programme what is assigned or addressed to it; a coordinator what
    /// concerns an area within its own (`catalog` knows the area tree); an auditor and an admin everything. A
    /// sensitive case is hidden from offices and coordinators once lodged.
    public static func canRead(_ principal: Principal, _ parties: Parties, catalog: ReferenceCatalog) -> Bool {
        let scope = principal.scope ?? ""
        switch principal.role {
        case .admin, .auditor: return true
        case .office: return !parties.sensitive && parties.offices.contains(scope)
        case .programme: return parties.programmes.contains(scope)
        case .coordinator:
            return !parties.sensitive && parties.areas.contains { catalog.isWithin(area: $0, ancestor: scope) }
        }
    }

    /// Whether `principal` may send a command to a case it can read. Auditors write nothing; a coordinator only
    /// escalates and adds notes; offices and programmes act on what they can read.
    public static func canAct(
        _ principal: Principal, command: String, _ parties: Parties, catalog: ReferenceCatalog
    ) -> Bool {
        guard self.canRead(principal, parties, catalog: catalog) else { return false }
        switch principal.role {
        case .admin, .office, .programme: return true
        case .auditor: return false
        case .coordinator: return ["escalate", "add_note"].contains(command)
        }
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
            offices: [state.office], programmes: Set([state.programme].compactMap { $0 }),
            areas: [state.area, state.lodgingArea], sensitive: state.sensitive)
    }

    public static func author(of command: Command) -> String? {
        guard case .lodge(let lodgement) = command else { return nil }
        return lodgement.office
    }
}

extension Appeal: HasParties {
    public static func parties(_ state: State) -> Parties {
        Parties(offices: [state.office], programmes: [state.programme], areas: [state.area])
    }

    public static func author(of command: Command) -> String? {
        guard case .lodge(let lodgement) = command else { return nil }
        return lodgement.office
    }
}

extension Referral: HasParties {
    /// The source may be an office or a programme; the receiver, and the one a declined referral was redirected
    /// to, are programmes or services.
    public static func parties(_ state: State) -> Parties {
        Parties(
            offices: [state.source],
            programmes: Set([state.source, state.receiver, state.redirectedToReceiver].compactMap { $0 }), areas: [])
    }

    public static func author(of command: Command) -> String? {
        guard case .create(let request) = command else { return nil }
        return request.source
    }
}
