/// A kind of case that people lodge and work through the API: complaint, appeal or referral. Everything the
/// command pipeline and the HTTP layer need to know about a kind, in one protocol.
public protocol CaseKind:
    HasParties & CommandRequestDecoding & StateViews & NamesReferenceCodes & HasFollowUps & Summarized
        & AssignsOfficers
{
    /// The command that creates a case of this kind (`lodge`, `create`).
    static var creation: CommandName { get }
    /// The kind letter of its tracking codes.
    static var trackingKind: TrackingCode.Kind { get }
    /// The member of the creating event that holds the person's data (`complainant`, `appellant`, `person`).
    static var personalMember: String { get }
    /// The field a creation names its author in (`office`, `source`): where "not yours to create" points.
    static var authorField: String { get }
}

extension Complaint: CaseKind {
    public static var creation: CommandName { .lodge }
    public static var trackingKind: TrackingCode.Kind { .complaint }
    public static var personalMember: String { "complainant" }
    public static var authorField: String { "office" }
}

extension Appeal: CaseKind {
    public static var creation: CommandName { .lodge }
    public static var trackingKind: TrackingCode.Kind { .appeal }
    public static var personalMember: String { "appellant" }
    public static var authorField: String { "office" }
}

extension Referral: CaseKind {
    public static var creation: CommandName { .create }
    public static var trackingKind: TrackingCode.Kind { .referral }
    public static var personalMember: String { "person" }
    public static var authorField: String { "source" }
}
