/// A file of reference data to import, in JSON or YAML (the same shape):
/// `{ "areas": [...], "programmes": [...], "offices": [...], "service_types": [...] }`, snake_case keys, every list
/// optional. See `docs/operations.md`.
public struct ReferenceFile: Sendable, Hashable, Codable {
    public var areas: [Area]
    public var programmes: [Programme]
    public var offices: [Office]
    public var serviceTypes: [ServiceType]

    public init(
        areas: [Area] = [], programmes: [Programme] = [], offices: [Office] = [], serviceTypes: [ServiceType] = []
    ) {
        self.areas = areas
        self.programmes = programmes
        self.offices = offices
        self.serviceTypes = serviceTypes
    }

    enum CodingKeys: String, CodingKey {
        case areas, programmes, offices
        case serviceTypes = "service_types"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.areas = try container.decodeIfPresent([Area].self, forKey: .areas) ?? []
        self.programmes = try container.decodeIfPresent([Programme].self, forKey: .programmes) ?? []
        self.offices = try container.decodeIfPresent([Office].self, forKey: .offices) ?? []
        self.serviceTypes = try container.decodeIfPresent([ServiceType].self, forKey: .serviceTypes) ?? []
    }

    /// How many definitions the file holds.
    public var definitionCount: Int {
        self.areas.count + self.programmes.count + self.offices.count + self.serviceTypes.count
    }

    /// Every definition of the file as an event at `at`: areas (from the top level down, so that a parent comes
    /// before its children), then programmes, offices and service types, each in file order.
    public func definitions(at: Timestamp) -> [ReferenceEvent] {
        let areas = AreaLevel.allCases.flatMap { level in self.areas.filter { $0.level == level } }
        return areas.map { .areaDefined($0, at: at) } + self.programmes.map { .programmeDefined($0, at: at) }
            + self.offices.map { .officeDefined($0, at: at) }
            + self.serviceTypes.map { .serviceTypeDefined($0, at: at) }
    }

    /// The definitions, as events at `at`, that are new to `catalog` or differ from what it holds: importing the
    /// same file twice appends nothing the second time. Of two definitions of one code in the file, the last one
    /// counts (validation refuses such a file anyway).
    public func events(comparedTo catalog: ReferenceCatalog, at: Timestamp) -> [ReferenceEvent] {
        var current = catalog
        var changed: [ReferenceEvent] = []
        for event in self.definitions(at: at) where !current.holds(event) {
            changed.removeAll { $0.stream == event.stream }
            changed.append(event)
            current.apply(event)
        }
        return changed
    }
}

extension ReferenceCatalog {
    /// Whether the catalog already holds exactly the definition of `event`.
    func holds(_ event: ReferenceEvent) -> Bool {
        switch event {
        case .programmeDefined(let programme, _): self.programme(programme.code) == programme
        case .areaDefined(let area, _): self.area(area.code) == area
        case .officeDefined(let office, _): self.office(office.code) == office
        case .serviceTypeDefined(let serviceType, _): self.serviceType(serviceType.code) == serviceType
        }
    }
}
