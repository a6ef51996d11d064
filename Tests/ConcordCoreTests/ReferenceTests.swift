import ConcordCore
import Foundation
import Testing

@Suite struct ReferenceTests {
    static let level = ServiceLevel(daysToAcknowledge: 2, daysToResolve: 14, daysToGiveFeedback: 10)

    static func programme(_ code: String = "CCT", appealWindowDays: Int = 30) -> Programme {
        Programme(
            code: code, name: "Cash transfer", agency: "Ministry of Social Affairs", contributory: false,
            serviceLevels: Dictionary(uniqueKeysWithValues: Complaint.Category.allCases.map { ($0, Self.level) }),
            appealWindowDays: appealWindowDays)
    }

    static let file = ReferenceFile(
        areas: [
            Area(code: "TM", name: "Tamora", level: .country, parent: nil),
            Area(code: "P-01", name: "Northern", level: .province, parent: "TM"),
            Area(code: "D-01", name: "Kiroba", level: .district, parent: "P-01"),
            Area(code: "C-01-01", name: "Kiroba Town", level: .community, parent: "D-01"),
            Area(code: "D-02", name: "Samaru", level: .district, parent: "P-01"),
        ],
        programmes: [Self.programme(), Self.programme("HEALTH")],
        offices: [Office(code: "OFF-001", name: "Kiroba office", area: "D-01", mobile: false)],
        serviceTypes: [
            ServiceType(code: "NUTRITION", name: "Nutrition", programme: "HEALTH"),
            ServiceType(code: "LEGAL-AID", name: "Legal aid", programme: nil),
        ])

    static let at = Timestamp(microsecondsSinceEpoch: 1_795_600_000_000_000)

    static var catalog: ReferenceCatalog { ReferenceCatalog.replay(Self.file.definitions(at: Self.at)) }

    @Test func aValidFileHasNoProblems() {
        #expect(ReferenceCatalog().validate(Self.file).isEmpty)
        #expect(Self.catalog.validate(Self.file).isEmpty)
    }

    @Test func validationNamesEachProblem() {
        var bad = Self.programme("PWP", appealWindowDays: 0)
        bad.serviceLevels[.exclusion] = ServiceLevel(daysToAcknowledge: 0, daysToResolve: 5, daysToGiveFeedback: -1)
        bad.serviceLevels[.other] = nil
        let file = ReferenceFile(
            areas: [
                Area(code: "", name: "Nowhere", level: .district, parent: "P-01"),
                Area(code: "C-9", name: "Lost", level: .community, parent: "P-01"),
                Area(code: "C-8", name: "Orphan", level: .community, parent: "D-99"),
                Area(code: "P-02", name: "  ", level: .province, parent: nil),
                Area(code: "XX", name: "Second country", level: .country, parent: nil),
            ],
            programmes: [bad],
            offices: [Office(code: "OFF 9", name: "Office", area: "D-99", mobile: true)],
            serviceTypes: [ServiceType(code: "JOBS", name: "Job placement", programme: "LABOUR")])
        let problems = Self.catalog.validate(file).map(\.description)
        #expect(
            problems == [
                "areas[0].code: must not be empty",
                "areas[1].parent: P-01 is a province; a community lies in a district",
                "areas[2].parent: D-99 is not a known area",
                "areas[3].name: must not be empty",
                "areas[3].parent: is missing: a province lies in a country",
                "areas[4].level: there is already a country: TM",
                "programmes[0].appeal_window_days: must be a positive number of days",
                "programmes[0].service_levels: needs every complaint category; missing: other",
                "programmes[0].service_levels.exclusion.days_to_acknowledge: must be a positive number of days",
                "programmes[0].service_levels.exclusion.days_to_give_feedback: must be a positive number of days",
                "offices[0].code: must be a code without spaces or control characters",
                "offices[0].area: D-99 is not a known area",
                "service_types[0].programme: LABOUR is not a known programme",
            ])
    }

    @Test func duplicateCodesAndBrokenChildrenAreRefused() {
        let file = ReferenceFile(
            areas: [Area(code: "D-01", name: "Kiroba", level: .province, parent: "TM")],
            offices: [
                Office(code: "OFF-002", name: "A", area: "D-01", mobile: false),
                Office(code: "OFF-002", name: "B", area: "D-01", mobile: false),
            ])
        #expect(
            Self.catalog.validate(file).map(\.description) == [
                "areas[0].level: C-01-01 (a community) lies in D-01, which must then be a district",
                "offices[1].code: OFF-002 is defined more than once in the file",
            ])
    }

    @Test func reimportingTheSameFileGivesNoEvents() {
        let first = Self.file.events(comparedTo: ReferenceCatalog(), at: Self.at)
        #expect(first.count == Self.file.definitionCount)
        // Parents come before their children.
        #expect(first.prefix(5).map(\.code) == ["TM", "P-01", "D-01", "D-02", "C-01-01"])
        let catalog = ReferenceCatalog.replay(first)
        #expect(Self.file.events(comparedTo: catalog, at: Self.at).isEmpty)

        var changed = Self.file
        changed.programmes[1].appealWindowDays = 60
        changed.offices[0].mobile = true
        let events = changed.events(comparedTo: catalog, at: Self.at)
        #expect(events.map(\.eventType) == ["ProgrammeDefined", "OfficeDefined"])
        #expect(events.map(\.stream.description) == ["reference/programme-HEALTH", "reference/office-OFF-001"])
        var updated = catalog
        for event in events { updated.apply(event) }
        #expect(updated.programme("HEALTH")?.appealWindowDays == 60 && updated.office("OFF-001")?.mobile == true)
    }

    @Test func subtreeAndLevelUp() {
        let catalog = Self.catalog
        #expect(catalog.isWithin(area: "C-01-01", ancestor: "C-01-01"))
        #expect(catalog.isWithin(area: "C-01-01", ancestor: "D-01"))
        #expect(catalog.isWithin(area: "C-01-01", ancestor: "TM"))
        #expect(!catalog.isWithin(area: "C-01-01", ancestor: "D-02"))
        #expect(!catalog.isWithin(area: "P-01", ancestor: "D-01"))
        #expect(!catalog.isWithin(area: "UNKNOWN", ancestor: "TM"))
        #expect(!catalog.isWithin(area: "D-01", ancestor: "UNKNOWN"))
        #expect(catalog.levelUp(from: "C-01-01")?.code == "D-01")
        #expect(catalog.levelUp(from: "D-01")?.code == "P-01")
        #expect(catalog.levelUp(from: "P-01")?.code == "TM")
        #expect(catalog.levelUp(from: "TM") == nil)
        #expect(catalog.parent(ofArea: "D-02")?.code == "P-01")
        #expect(catalog.children(ofArea: "P-01").map(\.code) == ["D-01", "D-02"])
        #expect(catalog.serviceType("NUTRITION")?.programme == "HEALTH")
        #expect(catalog.programme("CCT")?.serviceLevel(for: .paymentDelay) == Self.level)
    }

    @Test func payloadsRoundTrip() throws {
        for event in Self.file.definitions(at: Self.at) {
            let data = event.eventData()
            let decoded = try ReferenceEvent.decode(
                type: data.type, schemaVersion: data.schemaVersion, payload: data.payload)
            #expect(decoded == event)
        }
        let area = ReferenceEvent.areaDefined(Self.file.areas[1], at: Self.at)
        #expect(
            area.payload
                == [
                    "code": "P-01", "name": "Northern", "level": "province", "parent": "TM",
                    "at": .string(Self.at.rfc3339),
                ]
        )
        #expect(area.stream == StreamName(type: "reference", id: "area-P-01"))
        let country = ReferenceEvent.areaDefined(Self.file.areas[0], at: Self.at)
        #expect(country.payload["parent"] == nil)
        let programme = ReferenceEvent.programmeDefined(Self.programme(), at: Self.at).payload
        #expect(
            programme["service_levels"]?["exclusion"]
                == ["days_to_acknowledge": 2, "days_to_resolve": 14, "days_to_give_feedback": 10])
    }

    @Test func decodingNamesTheBadMember() {
        var payload = ReferenceEvent.programmeDefined(Self.programme(), at: Self.at).payload
        if case .object(var members) = payload {
            members["service_levels"] = ["exclusion": ["days_to_acknowledge": 2, "days_to_resolve": "soon"]]
            payload = .object(members)
        }
        #expect(throws: EventPayloadError.self) {
            try ReferenceEvent.decode(type: "ProgrammeDefined", schemaVersion: 1, payload: payload)
        }
        do {
            _ = try ReferenceEvent.decode(type: "ProgrammeDefined", schemaVersion: 1, payload: payload)
        } catch let error as EventPayloadError {
            #expect(error.field == "service_levels.exclusion.days_to_resolve")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: EventPayloadError.self) {
            try ReferenceEvent.decode(type: "ComplaintLodged", schemaVersion: 1, payload: [:])
        }
    }

    @Test func theFileReadsFromSnakeCaseJSON() throws {
        let json = """
            {
              "areas": [{ "code": "TM", "name": "Tamora", "level": "country" }],
              "programmes": [{ "code": "CCT", "name": "Cash", "agency": "MSA", "contributory": false,
                "appeal_window_days": 30,
                "service_levels": { "payment_delay": { "days_to_acknowledge": 2, "days_to_resolve": 14,
                  "days_to_give_feedback": 10 } } }],
              "service_types": [{ "code": "LEGAL-AID", "name": "Legal aid" }]
            }
            """
        let file = try JSONDecoder().decode(ReferenceFile.self, from: Data(json.utf8))
        #expect(file.areas == [Area(code: "TM", name: "Tamora", level: .country, parent: nil)])
        #expect(file.programmes.first?.serviceLevels == [.paymentDelay: Self.level])
        #expect(file.offices.isEmpty && file.serviceTypes.first?.programme == nil)
        let encoded = try JSONEncoder().encode(Self.file)
        #expect(try JSONDecoder().decode(ReferenceFile.self, from: encoded) == Self.file)

        let unknownCategory = json.replacingOccurrences(of: "\"payment_delay\"", with: "\"late_payment\"")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ReferenceFile.self, from: Data(unknownCategory.utf8))
        }
    }
}
