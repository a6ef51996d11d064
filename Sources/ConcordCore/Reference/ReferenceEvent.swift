/// A definition of reference data: a programme, area, office or service type. Each record has its own stream of
/// type `reference` (`programme-CCT`, `area-D-01`, `office-OFF-001`, `service-type-NUTRITION`); a later definition
/// with the same code replaces the earlier one, which is how reference data is updated.
public enum ReferenceEvent: DomainEvent {
    case programmeDefined(Programme, at: Timestamp)
    case areaDefined(Area, at: Timestamp)
    case officeDefined(Office, at: Timestamp)
    case serviceTypeDefined(ServiceType, at: Timestamp)

    /// The stream type of every reference record.
    public static let streamType = "reference"

    /// The event types of a reference stream.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case programmeDefined = "ProgrammeDefined"
        case areaDefined = "AreaDefined"
        case officeDefined = "OfficeDefined"
        case serviceTypeDefined = "ServiceTypeDefined"

        /// The prefix of the stream id, before the code.
        public var streamPrefix: String {
            switch self {
            case .programmeDefined: "programme"
            case .areaDefined: "area"
            case .officeDefined: "office"
            case .serviceTypeDefined: "service-type"
            }
        }
    }
}

extension ReferenceEvent {
    public var kind: Kind {
        switch self {
        case .programmeDefined: .programmeDefined
        case .areaDefined: .areaDefined
        case .officeDefined: .officeDefined
        case .serviceTypeDefined: .serviceTypeDefined
        }
    }

    public var eventType: String { self.kind.rawValue }

    /// The code of the record defined.
    public var code: String {
        switch self {
        case .programmeDefined(let programme, _): programme.code
        case .areaDefined(let area, _): area.code
        case .officeDefined(let office, _): office.code
        case .serviceTypeDefined(let serviceType, _): serviceType.code
        }
    }

    /// The stream of the record defined, e.g. `reference/programme-CCT`.
    public var stream: StreamName {
        StreamName(type: Self.streamType, id: "\(self.kind.streamPrefix)-\(self.code)")
    }

    public var at: Timestamp {
        switch self {
        case .programmeDefined(_, let at), .areaDefined(_, let at), .officeDefined(_, let at),
            .serviceTypeDefined(_, let at):
            at
        }
    }

    public var payload: JSONValue {
        switch self {
        case .programmeDefined(let programme, let at): programme.payload(at: at)
        case .areaDefined(let area, let at):
            Payload.object([
                "code": area.code, "name": area.name, "level": area.level, "parent": area.parent, "at": at,
            ])
        case .officeDefined(let office, let at):
            Payload.object([
                "code": office.code, "name": office.name, "area": office.area, "mobile": office.mobile, "at": at,
            ])
        case .serviceTypeDefined(let serviceType, let at):
            Payload.object([
                "code": serviceType.code, "name": serviceType.name, "programme": serviceType.programme, "at": at,
            ])
        }
    }

    public static func decode(type: String, schemaVersion: Int32, payload: JSONValue) throws -> Self {
        let (kind, reader) = try PayloadReader.open(
            Kind.self, type: type, schemaVersion: schemaVersion, payload: payload, stream: Self.streamType)
        let at = try reader.required("at", as: Timestamp.self)
        let (code, name) = (try reader.required("code", as: String.self), try reader.required("name", as: String.self))
        switch kind {
        case .programmeDefined: return .programmeDefined(try Programme(reader: reader, code: code, name: name), at: at)
        case .areaDefined:
            let area = Area(
                code: code, name: name, level: try reader.required("level"), parent: try reader.optional("parent"))
            return .areaDefined(area, at: at)
        case .officeDefined:
            let office = Office(
                code: code, name: name, area: try reader.required("area"), mobile: try reader.required("mobile"))
            return .officeDefined(office, at: at)
        case .serviceTypeDefined:
            return .serviceTypeDefined(
                ServiceType(code: code, name: name, programme: try reader.optional("programme")), at: at)
        }
    }
}

extension Programme {
    /// The `ProgrammeDefined` payload: the service levels sit in a `service_levels` object keyed by category.
    func payload(at: Timestamp) -> JSONValue {
        var levels = JSONObject()
        for (category, level) in self.serviceLevels {
            var days = JSONObject()
            for member in level.members { days[member.key] = member.days.jsonValue }
            levels[category.rawValue] = .object(days)
        }
        return Payload.merging(
            Payload.object([
                "code": self.code, "name": self.name, "agency": self.agency, "contributory": self.contributory,
                "appeal_window_days": self.appealWindowDays, "at": at,
                // Written only when set, so that definitions without it keep their earlier form.
                "escalate_when_overdue": self.escalatesWhenOverdue ? true : nil,
            ]), ["service_levels": .object(levels)])
    }

    init(reader: PayloadReader, code: String, name: String) throws(EventPayloadError) {
        self.init(
            code: code, name: name, agency: try reader.required("agency"),
            contributory: try reader.required("contributory"), serviceLevels: try Self.serviceLevels(reader),
            appealWindowDays: try reader.required("appeal_window_days"),
            escalatesWhenOverdue: try reader.optional("escalate_when_overdue") ?? false)
    }

    private static func serviceLevels(
        _ reader: PayloadReader
    ) throws(EventPayloadError) -> [Complaint.Category: ServiceLevel] {
        let levels = try reader.object("service_levels")
        var result: [Complaint.Category: ServiceLevel] = [:]
        for name in levels.members.keys {
            guard let category = Complaint.Category(rawValue: name) else {
                throw levels.error(name, "is not a complaint category; \(Complaint.Category.expectation)")
            }
            let days = try levels.object(name)
            result[category] = ServiceLevel(
                daysToAcknowledge: try days.required("days_to_acknowledge"),
                daysToResolve: try days.required("days_to_resolve"),
                daysToGiveFeedback: try days.required("days_to_give_feedback"))
        }
        return result
    }
}
