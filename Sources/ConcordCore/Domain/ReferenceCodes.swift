/// The reference codes a command names, so that the service can refuse a command that names an unknown programme,
/// office or area (422) before anything is written. The domain itself does not know the reference data.
public struct NamedCode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case programme, office, area
        /// A referral's source: an office or a programme.
        case officeOrProgramme
        /// A referral's receiver, or where an out-of-scope complaint belongs: a programme or a service type.
        case programmeOrService
    }

    /// The request body member that names it, e.g. `to_programme`.
    public var field: String
    public var kind: Kind
    public var code: String

    public init(field: String, kind: Kind, code: String) {
        self.field = field
        self.kind = kind
        self.code = code
    }
}

public protocol NamesReferenceCodes: StateMachine {
    static func namedCodes(in command: Command) -> [NamedCode]
    /// What the reference data says is wrong with `command` in `state`: unknown codes, and for a kind that needs
    /// it, a code that exists but is the wrong one (an escalation that does not go one level up).
    static func referenceProblems(in command: Command, state: State?, catalog: ReferenceCatalog) -> [FieldProblem]
    /// `command` with what the reference data decides filled in (a reopened complaint's appeal window).
    static func completing(_ command: Command, state: State?, catalog: ReferenceCatalog) -> Command
}

extension NamesReferenceCodes {
    public static func referenceProblems(
        in command: Command, state: State?, catalog: ReferenceCatalog
    )
        -> [FieldProblem]
    {
        self.unknownCodes(in: command, catalog: catalog)
    }

    public static func completing(_ command: Command, state: State?, catalog: ReferenceCatalog) -> Command {
        command
    }

    public static func unknownCodes(in command: Command, catalog: ReferenceCatalog) -> [FieldProblem] {
        self.namedCodes(in: command).filter { !catalog.knows($0) }.map {
            FieldProblem(field: $0.field, reason: "no \($0.kind.noun) has the code \($0.code)")
        }
    }
}

extension NamedCode.Kind {
    /// How a person calls it.
    public var noun: String {
        switch self {
        case .programme: "programme"
        case .office: "office"
        case .area: "area"
        case .officeOrProgramme: "office or programme"
        case .programmeOrService: "programme or service"
        }
    }
}

extension ReferenceCatalog {
    /// Whether the catalog knows `named.code` as what `named.kind` says it is.
    public func knows(_ named: NamedCode) -> Bool {
        switch named.kind {
        case .programme: self.programme(named.code) != nil
        case .office: self.office(named.code) != nil
        case .area: self.area(named.code) != nil
        case .officeOrProgramme: self.office(named.code) != nil || self.programme(named.code) != nil
        case .programmeOrService: self.programme(named.code) != nil || self.serviceType(named.code) != nil
        }
    }
}

extension Complaint: NamesReferenceCodes {
    /// A complaint closed as not satisfied may be reopened within its programme's appeal window: whether it still
    /// is, is for the programme's settings to say, not the client.
    public static func completing(_ command: Command, state: State?, catalog: ReferenceCatalog) -> Command {
        guard case .reopen(let reason, _, let at) = command, let state, let closedAt = state.closedAt,
            let days = state.programme.flatMap({ catalog.programme($0) })?.appealWindowDays
        else { return command }
        let window = Int64(days) * 86_400 * 1_000_000
        let within = at.microsecondsSinceEpoch - closedAt.microsecondsSinceEpoch <= window
        return .reopen(reason: reason, withinAppealWindow: within, at: at)
    }

    /// Besides unknown codes: an escalation goes exactly one administrative level up from where the complaint is.
    public static func referenceProblems(
        in command: Command, state: State?, catalog: ReferenceCatalog
    )
        -> [FieldProblem]
    {
        var problems = self.unknownCodes(in: command, catalog: catalog)
        if case .escalate(let target, _, _) = command, let state, catalog.area(target) != nil {
            if let parent = catalog.levelUp(from: state.area) {
                if parent.code != target {
                    problems.append(
                        FieldProblem(
                            field: "to_area",
                            reason: "an escalation from \(state.area) goes to \(parent.code), one level up"))
                }
            } else {
                problems.append(
                    FieldProblem(field: "to_area", reason: "\(state.area) is the top level: nowhere to escalate"))
            }
        }
        return problems
    }

    public static func namedCodes(in command: Command) -> [NamedCode] {
        switch command {
        case .lodge(let lodgement):
            [
                NamedCode(field: "area", kind: .area, code: lodgement.area),
                NamedCode(field: "office", kind: .office, code: lodgement.office),
            ] + (lodgement.programme.map { [NamedCode(field: "programme", kind: .programme, code: $0)] } ?? [])
        case .assign(let programme, _, _): [NamedCode(field: "programme", kind: .programme, code: programme)]
        case .transfer(let programme, _, _): [NamedCode(field: "to_programme", kind: .programme, code: programme)]
        case .escalate(let area, _, _): [NamedCode(field: "to_area", kind: .area, code: area)]
        case .rejectOutOfScope(let target, _, _):
            [NamedCode(field: "redirect_to", kind: .programmeOrService, code: target)]
        default: []
        }
    }
}

extension Appeal: NamesReferenceCodes {
    public static func namedCodes(in command: Command) -> [NamedCode] {
        guard case .lodge(let lodgement) = command else { return [] }
        return [
            NamedCode(field: "programme", kind: .programme, code: lodgement.programme),
            NamedCode(field: "area", kind: .area, code: lodgement.area),
            NamedCode(field: "office", kind: .office, code: lodgement.office),
        ]
    }
}

extension Referral: NamesReferenceCodes {
    public static func namedCodes(in command: Command) -> [NamedCode] {
        switch command {
        case .create(let request):
            [
                NamedCode(field: "source", kind: .officeOrProgramme, code: request.source),
                NamedCode(field: "receiver", kind: .programmeOrService, code: request.receiver),
            ]
        case .redirect(_, let receiver, _):
            [NamedCode(field: "new_receiver", kind: .programmeOrService, code: receiver)]
        default: []
        }
    }
}
