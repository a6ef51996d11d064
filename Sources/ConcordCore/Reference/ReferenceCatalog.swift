/// The reference data as the `reference` streams of the log define it: programmes, areas, offices and service types
/// by code. Built by applying the reference events in log order; pure, like the state machines.
public struct ReferenceCatalog: Sendable, Hashable {
    public private(set) var programmes: [String: Programme] = [:]
    public private(set) var areas: [String: Area] = [:]
    public private(set) var offices: [String: Office] = [:]
    public private(set) var serviceTypes: [String: ServiceType] = [:]

    /// An empty catalog.
    public init() {}

    /// The catalog after `event`: its definition replaces any earlier one with the same code.
    public mutating func apply(_ event: ReferenceEvent) {
        switch event {
        case .programmeDefined(let programme, _): self.programmes[programme.code] = programme
        case .areaDefined(let area, _): self.areas[area.code] = area
        case .officeDefined(let office, _): self.offices[office.code] = office
        case .serviceTypeDefined(let serviceType, _): self.serviceTypes[serviceType.code] = serviceType
        }
    }

    /// The catalog that `events`, in log order, build from nothing.
    public static func replay(_ events: [ReferenceEvent]) -> ReferenceCatalog {
        var catalog = ReferenceCatalog()
        for event in events { catalog.apply(event) }
        return catalog
    }

    // MARK: Lookups

    public func programme(_ code: String) -> Programme? { self.programmes[code] }
    public func area(_ code: String) -> Area? { self.areas[code] }
    public func office(_ code: String) -> Office? { self.offices[code] }
    public func serviceType(_ code: String) -> ServiceType? { self.serviceTypes[code] }

    /// The area one level above the area `code`; nil for the country and for an unknown area.
    public func parent(ofArea code: String) -> Area? {
        self.areas[code]?.parent.flatMap { self.areas[$0] }
    }

    /// Whether the area `area` is `ancestor` or lies below it: the subtree test for a coordinator of `ancestor`.
    /// False when either is unknown.
    public func isWithin(area: String, ancestor: String) -> Bool {
        guard self.areas[ancestor] != nil else { return false }
        var current = self.areas[area]
        // At most one step per area: a cycle (which validation refuses) cannot loop forever.
        for _ in 0...self.areas.count {
            guard let found = current else { return false }
            if found.code == ancestor { return true }
            current = found.parent.flatMap { self.areas[$0] }
        }
        return false
    }

    /// Where an escalation from the area `area` goes: the area one level up; nil from the country or an unknown area.
    public func levelUp(from area: String) -> Area? {
        self.parent(ofArea: area)
    }

    /// The areas directly below the area `code`, by code.
    public func children(ofArea code: String) -> [Area] {
        self.areas.values.filter { $0.parent == code }.sorted { $0.code < $1.code }
    }
}
