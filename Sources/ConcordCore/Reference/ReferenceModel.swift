/// How long a programme may take over one category of complaint, in days. Every value is positive.
public struct ServiceLevel: Sendable, Hashable, Codable {
    /// Days from lodging to acknowledgement.
    public var daysToAcknowledge: Int
    /// Days from lodging to resolution.
    public var daysToResolve: Int
    /// Days from a referral to the receiving programme's counter-referral feedback.
    public var daysToGiveFeedback: Int

    public init(daysToAcknowledge: Int, daysToResolve: Int, daysToGiveFeedback: Int) {
        self.daysToAcknowledge = daysToAcknowledge
        self.daysToResolve = daysToResolve
        self.daysToGiveFeedback = daysToGiveFeedback
    }

    enum CodingKeys: String, CodingKey {
        case daysToAcknowledge = "days_to_acknowledge"
        case daysToResolve = "days_to_resolve"
        case daysToGiveFeedback = "days_to_give_feedback"
    }

    /// The values by their snake_case names, in a fixed order: for payloads and validation.
    var members: [(key: String, days: Int)] {
        [
            (CodingKeys.daysToAcknowledge.rawValue, self.daysToAcknowledge),
            (CodingKeys.daysToResolve.rawValue, self.daysToResolve),
            (CodingKeys.daysToGiveFeedback.rawValue, self.daysToGiveFeedback),
        ]
    }
}

/// A social protection programme (cash transfer, social pension, health insurance, ...): who implements it and how
/// quickly it must handle complaints and referrals.
public struct Programme: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    /// The implementing agency or ministry.
    public var agency: String
    /// Whether beneficiaries pay contributions (social insurance) rather than receive tax-financed assistance.
    public var contributory: Bool
    /// The service levels per complaint category; a valid definition has one for every category.
    public var serviceLevels: [Complaint.Category: ServiceLevel]
    /// Days after a complaint's outcome, or a programme decision, during which an appeal may be lodged.
    public var appealWindowDays: Int
    /// Whether a complaint that passes a due time of this programme's service levels is escalated one
    /// administrative level up by the service itself (`EscalatedForOverdue`), once per due time.
    public var escalatesWhenOverdue: Bool

    public init(
        code: String, name: String, agency: String, contributory: Bool,
        serviceLevels: [Complaint.Category: ServiceLevel], appealWindowDays: Int, escalatesWhenOverdue: Bool = false
    ) {
        self.code = code
        self.name = name
        self.agency = agency
        self.contributory = contributory
        self.serviceLevels = serviceLevels
        self.appealWindowDays = appealWindowDays
        self.escalatesWhenOverdue = escalatesWhenOverdue
    }

    /// The service level for complaints of `category`, nil when the programme has none for it.
    public func serviceLevel(for category: Complaint.Category) -> ServiceLevel? {
        self.serviceLevels[category]
    }

    enum CodingKeys: String, CodingKey {
        case code, name, agency, contributory
        case serviceLevels = "service_levels"
        case appealWindowDays = "appeal_window_days"
        case escalatesWhenOverdue = "escalate_when_overdue"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.code = try container.decode(String.self, forKey: .code)
        self.name = try container.decode(String.self, forKey: .name)
        self.agency = try container.decode(String.self, forKey: .agency)
        self.contributory = try container.decode(Bool.self, forKey: .contributory)
        self.appealWindowDays = try container.decode(Int.self, forKey: .appealWindowDays)
        self.escalatesWhenOverdue = try container.decodeIfPresent(Bool.self, forKey: .escalatesWhenOverdue) ?? false
        let levels = try container.decode([String: ServiceLevel].self, forKey: .serviceLevels)
        self.serviceLevels = try Self.categories(levels, in: container)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.code, forKey: .code)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.agency, forKey: .agency)
        try container.encode(self.contributory, forKey: .contributory)
        try container.encode(self.appealWindowDays, forKey: .appealWindowDays)
        if self.escalatesWhenOverdue { try container.encode(true, forKey: .escalatesWhenOverdue) }
        let levels = Dictionary(uniqueKeysWithValues: self.serviceLevels.map { ($0.key.rawValue, $0.value) })
        try container.encode(levels, forKey: .serviceLevels)
    }

    /// Service levels keyed by category name, refusing a name that is not a category.
    private static func categories(
        _ levels: [String: ServiceLevel], in container: KeyedDecodingContainer<CodingKeys>
    ) throws -> [Complaint.Category: ServiceLevel] {
        var result: [Complaint.Category: ServiceLevel] = [:]
        for (name, level) in levels {
            guard let category = Complaint.Category(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .serviceLevels, in: container,
                    debugDescription: "'\(name)' is not a complaint category; \(Complaint.Category.expectation)")
            }
            result[category] = level
        }
        return result
    }
}

/// The level of an administrative area, from the top.
public enum AreaLevel: String, Sendable, Hashable, CaseIterable, Codable, PayloadEnum {
    case country
    case province
    case district
    case community

    /// The level directly above, nil for the country.
    public var above: AreaLevel? {
        switch self {
        case .country: nil
        case .province: .country
        case .district: .province
        case .community: .district
        }
    }
}

/// An administrative area: the hierarchy country > province > district > community that escalation climbs and
/// indicators roll up.
public struct Area: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    public var level: AreaLevel
    /// The code of the area one level up; nil only for the country.
    public var parent: String?

    public init(code: String, name: String, level: AreaLevel, parent: String?) {
        self.code = code
        self.name = name
        self.level = level
        self.parent = parent
    }
}

/// A front office (one-stop shop, Single Window Service, district welfare office) or a mobile unit, in an area.
public struct Office: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    /// The code of the area the office serves.
    public var area: String
    /// Whether it is a mobile unit (which may sync late over poor connectivity).
    public var mobile: Bool

    public init(code: String, name: String, area: String, mobile: Bool) {
        self.code = code
        self.name = name
        self.area = area
        self.mobile = mobile
    }
}

/// A service that a referral can ask for (health assessment, school enrolment, job placement, ...).
public struct ServiceType: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    /// The code of the programme that receives referrals for it; nil when no programme in Concord does (an outside
    /// provider).
    public var programme: String?

    public init(code: String, name: String, programme: String?) {
        self.code = code
        self.name = name
        self.programme = programme
    }
}
