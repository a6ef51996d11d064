extension ReferenceCatalog {
    /// Every problem with importing `file` into this catalog, in file order, each named by its path in the file
    /// (`areas[3].parent`, `programmes[0].service_levels.exclusion.days_to_resolve`); empty when the file is valid.
    ///
    /// Checks that codes are codes and names are not empty, that no code is defined twice in the file, that an
    /// area's parent exists (in the file or the catalog) one level up and that only the country has none, that
    /// the areas already below a redefined area stay one level below it, that offices are in known areas and
    /// service types received by known programmes, and that a programme has positive service levels for every
    /// complaint category and a positive appeal window.
    public func validate(_ file: ReferenceFile) -> [FieldProblem] {
        var merged = self
        for event in file.definitions(at: Timestamp(microsecondsSinceEpoch: 0)) { merged.apply(event) }
        var check = ReferenceCheck(merged: merged, fileAreas: Set(file.areas.map(\.code)))
        for (index, area) in file.areas.enumerated() {
            check.area(area, at: "areas[\(index)]", duplicate: file.areas[..<index].contains { $0.code == area.code })
        }
        for (index, programme) in file.programmes.enumerated() {
            let duplicate = file.programmes[..<index].contains { $0.code == programme.code }
            check.programme(programme, at: "programmes[\(index)]", duplicate: duplicate)
        }
        for (index, office) in file.offices.enumerated() {
            let duplicate = file.offices[..<index].contains { $0.code == office.code }
            check.office(office, at: "offices[\(index)]", duplicate: duplicate)
        }
        for (index, serviceType) in file.serviceTypes.enumerated() {
            let duplicate = file.serviceTypes[..<index].contains { $0.code == serviceType.code }
            check.serviceType(serviceType, at: "service_types[\(index)]", duplicate: duplicate)
        }
        return check.problems
    }
}

/// Collects the problems of a reference file, one definition at a time.
private struct ReferenceCheck {
    /// The catalog with the file applied: where references are looked up.
    let merged: ReferenceCatalog
    /// The codes of the areas the file defines, whose own parents are checked where they are defined.
    let fileAreas: Set<String>
    var problems: [FieldProblem] = []

    mutating func that(_ condition: Bool, _ field: String, _ reason: @autoclosure () -> String) {
        if !condition { self.problems.append(FieldProblem(field: field, reason: reason())) }
    }

    /// A code as `docs/events.md` defines codes: one word of at most 64 characters; and defined once in the file.
    mutating func code(_ value: String, _ path: String, duplicate: Bool) {
        let field = path + ".code"
        if value.isEmpty {
            self.that(false, field, "must not be empty")
        } else if value.count > 64 {
            self.that(false, field, "must be at most 64 characters")
        } else if !value.allSatisfy(Self.isCodeCharacter) {
            self.that(false, field, "must be a code without spaces or control characters")
        }
        self.that(!duplicate, field, "\(value) is defined more than once in the file")
    }

    mutating func text(_ value: String, _ field: String) {
        self.that(!value.allSatisfy(\.isWhitespace), field, "must not be empty")
    }

    private static func isCodeCharacter(_ character: Character) -> Bool {
        !character.isWhitespace && !character.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    mutating func area(_ area: Area, at path: String, duplicate: Bool) {
        self.code(area.code, path, duplicate: duplicate)
        self.text(area.name, path + ".name")
        if let above = area.level.above {
            self.parent(of: area, above: above, at: path)
        } else {
            self.that(area.parent == nil, path + ".parent", "must be left out: the country is the top of the tree")
            let others = self.merged.areas.values.filter { $0.level == .country && $0.code != area.code }.map(\.code)
            self.that(
                others.isEmpty, path + ".level",
                "there is already a country: \(others.sorted().joined(separator: ", "))")
        }
        // Areas already in the catalog below this one must stay one level below it.
        let children = self.merged.children(ofArea: area.code).filter { !self.fileAreas.contains($0.code) }
        for child in children where child.level.above != area.level {
            self.that(
                false, path + ".level",
                "\(child.code) (a \(child.level.rawValue)) lies in \(area.code), which must then be a "
                    + (child.level.above?.rawValue ?? "nothing"))
        }
    }

    private mutating func parent(of area: Area, above: AreaLevel, at path: String) {
        let field = path + ".parent"
        guard let parentCode = area.parent else {
            return self.that(false, field, "is missing: a \(area.level.rawValue) lies in a \(above.rawValue)")
        }
        guard let parent = self.merged.area(parentCode) else {
            return self.that(false, field, "\(parentCode) is not a known area")
        }
        self.that(
            parent.level == above, field,
            "\(parentCode) is a \(parent.level.rawValue); a \(area.level.rawValue) lies in a \(above.rawValue)")
    }

    mutating func programme(_ programme: Programme, at path: String, duplicate: Bool) {
        self.code(programme.code, path, duplicate: duplicate)
        self.text(programme.name, path + ".name")
        self.text(programme.agency, path + ".agency")
        self.that(programme.appealWindowDays > 0, path + ".appeal_window_days", "must be a positive number of days")
        let missing = Complaint.Category.allCases.filter { programme.serviceLevels[$0] == nil }
        self.that(
            missing.isEmpty, path + ".service_levels",
            "needs every complaint category; missing: \(missing.map(\.rawValue).joined(separator: ", "))")
        for category in Complaint.Category.allCases {
            for member in programme.serviceLevels[category]?.members ?? [] {
                self.that(
                    member.days > 0, "\(path).service_levels.\(category.rawValue).\(member.key)",
                    "must be a positive number of days")
            }
        }
    }

    mutating func office(_ office: Office, at path: String, duplicate: Bool) {
        self.code(office.code, path, duplicate: duplicate)
        self.text(office.name, path + ".name")
        self.that(self.merged.area(office.area) != nil, path + ".area", "\(office.area) is not a known area")
    }

    mutating func serviceType(_ serviceType: ServiceType, at path: String, duplicate: Bool) {
        self.code(serviceType.code, path, duplicate: duplicate)
        self.text(serviceType.name, path + ".name")
        if let programme = serviceType.programme {
            self.that(
                self.merged.programme(programme) != nil, path + ".programme", "\(programme) is not a known programme")
        }
    }
}
