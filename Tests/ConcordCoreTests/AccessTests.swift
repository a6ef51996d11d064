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
