extension ReferenceCatalog {
    /// Why `scope` cannot be the scope of a token with `role`, or nil when the reference data defines it: an office
    /// code for an office, a programme (or service type) code for a programme, an area code for a coordinator.
    /// A token with a scope nothing defines would authenticate but never see a case.
    public func scopeProblem(_ scope: String, for role: Role) -> String? {
        switch role {
        case .office where self.office(scope) == nil:
            "no office has the code \(scope) in the reference data"
        case .programme where self.programme(scope) == nil && self.serviceType(scope) == nil:
            "no programme or service type has the code \(scope) in the reference data"
        case .coordinator where self.area(scope) == nil:
            "no area has the code \(scope) in the reference data"
        default:
            nil
        }
    }
}
