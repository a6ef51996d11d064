/// Optional, non-identifying attributes of the person a case is about (the complainant, the appellant, the referred
/// person), so that the indicators can be broken down by them. Recorded in clear beside the sealed personal object,
/// not inside it: they identify nobody, are counted only in aggregate, and survive an erasure. Allowed for anonymous
/// complainants too.
public struct PersonAttributes: Sendable, Hashable {
    public enum Sex: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case female
        case male
        case other
        case notStated = "not_stated"
    }

    public enum AgeGroup: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case child = "0-17"
        case youth = "18-24"
        case adult = "25-59"
        case older = "60+"
    }

    public enum Disability: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case yes
        case no
        case notStated = "not_stated"
    }

    public var sex: Sex?
    public var ageGroup: AgeGroup?
    public var disability: Disability?

    public init(sex: Sex? = nil, ageGroup: AgeGroup? = nil, disability: Disability? = nil) {
        self.sex = sex
        self.ageGroup = ageGroup
        self.disability = disability
    }

    /// The payload and request members, each left out when not recorded.
    static let keys = ["sex", "age_group", "disability"]

    /// The members to merge into the creating event's payload (nil for those not recorded).
    var payloadMembers: [String: JSONValue?] {
        ["sex": self.sex?.jsonValue, "age_group": self.ageGroup?.jsonValue, "disability": self.disability?.jsonValue]
    }

    /// The recorded attributes as an object (for the case views).
    var members: JSONValue {
        Payload.object(["sex": self.sex, "age_group": self.ageGroup, "disability": self.disability])
    }

    init(reader: PayloadReader) throws(EventPayloadError) {
        self.init(
            sex: try reader.optional("sex"), ageGroup: try reader.optional("age_group"),
            disability: try reader.optional("disability"))
    }
}

extension RequestBody {
    /// The optional `sex`, `age_group` and `disability` members; a value outside the enumeration is a problem
    /// naming its field.
    mutating func personAttributes() -> PersonAttributes {
        PersonAttributes(
            sex: self.optional("sex", as: PersonAttributes.Sex.self),
            ageGroup: self.optional("age_group", as: PersonAttributes.AgeGroup.self),
            disability: self.optional("disability", as: PersonAttributes.Disability.self))
    }
}
