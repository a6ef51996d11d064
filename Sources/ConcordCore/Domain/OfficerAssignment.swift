/// A kind whose commands may assign a case to one officer of a programme. The pipeline checks the officer against
/// the users (an active user of that programme) and names the sender when the command names nobody; the domain
/// itself knows no users.
public protocol AssignsOfficers: StateMachine {
    /// The programme and officer (nil: none named) that `command` assigns; nil when it assigns no officer.
    static func officerAssignment(in command: Command) -> OfficerAssignment?
    /// `command` with `officer` as its officer.
    static func assigning(_ officer: String, in command: Command) -> Command
}

public struct OfficerAssignment: Sendable, Hashable {
    public var programme: String
    public var officer: String?
}

extension AssignsOfficers {
    public static func officerAssignment(in command: Command) -> OfficerAssignment? { nil }
    public static func assigning(_ officer: String, in command: Command) -> Command { command }
}

extension Complaint: AssignsOfficers {
    public static func officerAssignment(in command: Command) -> OfficerAssignment? {
        guard case .assign(let programme, let officer, _) = command else { return nil }
        return OfficerAssignment(programme: programme, officer: officer)
    }

    public static func assigning(_ officer: String, in command: Command) -> Command {
        guard case .assign(let programme, _, let at) = command else { return command }
        return .assign(programme: programme, officer: officer, at: at)
    }
}

extension Appeal: AssignsOfficers {}
extension Referral: AssignsOfficers {}
