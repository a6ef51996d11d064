import ConcordCore

extension TokenStore {
    /// What is wrong with the role, scope and focal point flag of a credential (a token or a user: the same rules):
    /// a scope present exactly when the role needs one and defined by the reference data for the role; a focal
    /// point only for a programme.
    public static func problems(
        role: Role, scope: String?, focalPoint: Bool, catalog: ReferenceCatalog
    ) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        do {
            try Self.checkScope(scope, for: role)
            if let scope, let problem = catalog.scopeProblem(scope, for: role) {
                problems.append(.init(field: "scope", reason: problem))
            }
        } catch {
            problems.append(.init(field: "scope", reason: error.description))
        }
        if focalPoint && role != .programme {
            problems.append(.init(field: "focal_point", reason: "only a programme user or token can be a focal point"))
        }
        return problems
    }
}
