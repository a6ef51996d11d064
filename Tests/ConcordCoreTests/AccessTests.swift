import ConcordCore
import Foundation
import Testing

@Suite struct AccessTests {
    @Test func officesProgrammesAndCoordinatorsNeedAScope() {
        #expect(Role.allCases.filter(\.needsScope) == [.office, .programme, .coordinator])
        #expect(Role.allCases.filter { !$0.needsScope } == [.auditor, .admin])
    }

    @Test func rolesAreSpelledAsStored() {
        #expect(Role.allCases.map(\.rawValue) == ["office", "programme", "coordinator", "auditor", "admin"])
    }

    @Test func theMetadataActorNamesTheTokenIDNotTheSecret() throws {
        let id = try #require(UUID(uuidString: "6F1C2D3E-4B5A-4C6D-8E7F-9A0B1C2D3E4F"))
        let principal = Principal(tokenID: id, role: .office, scope: "OFF-001", label: "front desk")
        #expect(principal.metadataActor == "token:6f1c2d3e")
    }
}

@Suite struct RedactedReadingTests {
    static let catalog = ReferenceCatalog()

    static func principal(_ role: Role, _ scope: String?, focal: Bool = false) -> Principal {
        Principal(tokenID: UUID(), role: role, scope: scope, label: nil, focalPoint: focal)
    }

    @Test func theLodgingOfficeOfASensitiveCaseReadsItRedactedAndSendsOnlyTheLoopsCommands() {
        let sensitive = Parties(lodging: ["OFF-001"], handling: ["CCT"], areas: ["D-01"], sensitive: true)
        let office = Self.principal(.office, "OFF-001")
        #expect(AccessPolicy.reading(office, sensitive, catalog: Self.catalog) == .redacted)
        #expect(!AccessPolicy.canRead(office, sensitive, catalog: Self.catalog))
        for command in ["notify_complainant", "close", "reopen"] {
            #expect(AccessPolicy.canAct(office, command: command, side: .lodging, sensitive, catalog: Self.catalog))
        }
        for command in ["add_note", "escalate", "withdraw"] {
            #expect(!AccessPolicy.canAct(office, command: command, side: .either, sensitive, catalog: Self.catalog))
        }
        // The same office reads an ordinary case in full; other offices and non-focal tokens read nothing.
        let ordinary = Parties(lodging: ["OFF-001"], handling: ["CCT"], areas: ["D-01"])
        #expect(AccessPolicy.reading(office, ordinary, catalog: Self.catalog) == .full)
        #expect(AccessPolicy.reading(Self.principal(.office, "OFF-002"), sensitive, catalog: Self.catalog) == .none)
        #expect(AccessPolicy.reading(Self.principal(.programme, "CCT"), sensitive, catalog: Self.catalog) == .none)
        let focal = Self.principal(.programme, "CCT", focal: true)
        #expect(AccessPolicy.reading(focal, sensitive, catalog: Self.catalog) == .full)
        #expect(AccessPolicy.reading(Self.principal(.coordinator, "D-01"), sensitive, catalog: Self.catalog) == .none)
    }
}
