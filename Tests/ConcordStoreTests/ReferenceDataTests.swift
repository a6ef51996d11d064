import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

@Suite struct ReferenceDataTests {
    static let demoFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/demo-reference.json")
    static let metadata = EventMetadata(actor: "test", role: "admin")

    static func demo() throws -> ReferenceFile {
        try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: Self.demoFile))
    }

    /// The events of the `reference` streams, in log order.
    static func referenceEvents(_ store: EventStore) async throws -> [RecordedEvent] {
        try await store.readAll(after: 0, limit: 10_000).filter { $0.stream.type == ReferenceEvent.streamType }
    }

    @Test func theDemoFileIsValidAndComplete() throws {
        let file = try Self.demo()
        #expect(ReferenceCatalog().validate(file).isEmpty)
        #expect(file.areas.count == 15 && file.programmes.count == 5 && file.offices.count == 6)
        #expect(Set(file.programmes.map(\.agency)).count == 3)
        #expect(file.offices.contains { $0.mobile })
    }

    @Test func importThenReloadGivesTheSameCatalog() async throws {
        let file = try Self.demo()
        try await withStore { store, _ in
            let data = ReferenceData()
            try await data.load(from: store)
            let imported = try await data.importFile(file, store: store, metadata: Self.metadata)
            #expect(imported == file.definitionCount)
            let events = try await Self.referenceEvents(store)
            #expect(events.count == file.definitionCount)
            #expect(events.first?.stream == StreamName(type: "reference", id: "area-TM"))
            #expect(events.allSatisfy { $0.metadata.actor == "test" && $0.metadata.role == "admin" })

            let reloaded = ReferenceData()
            try await reloaded.load(from: store, pageSize: 7)
            #expect(reloaded.catalog == data.catalog)
            #expect(reloaded.catalog.isWithin(area: "C-04-02", ancestor: "P-02"))
            #expect(reloaded.catalog.programme("PENSION")?.appealWindowDays == 60)
        }
    }

    @Test func reimportAppendsNothingAndAChangeAppendsOneEvent() async throws {
        let file = try Self.demo()
        try await withStore { store, _ in
            let data = ReferenceData()
            try await data.importFile(file, store: store, metadata: Self.metadata)
            let before = try await Self.referenceEvents(store).count

            let again = ReferenceData()
            try await again.load(from: store)
            #expect(try await again.importFile(file, store: store, metadata: Self.metadata) == 0)
            #expect(try await Self.referenceEvents(store).count == before)

            var changed = file
            changed.programmes[0].serviceLevels[.paymentDelay]?.daysToResolve = 10
            #expect(try await again.importFile(changed, store: store, metadata: Self.metadata) == 1)
            let events = try await Self.referenceEvents(store)
            #expect(events.count == before + 1)
            let last = try #require(events.last)
            #expect(last.type == "ProgrammeDefined" && last.stream.id == "programme-\(file.programmes[0].code)")
            #expect(last.streamVersion == 2)

            let reloaded = ReferenceData()
            try await reloaded.load(from: store)
            #expect(reloaded.catalog == again.catalog)
            #expect(reloaded.catalog.programme("CCT")?.serviceLevel(for: .paymentDelay)?.daysToResolve == 10)
        }
    }

    @Test func anInvalidFileAppendsNothing() async throws {
        var invalid = try Self.demo()
        invalid.offices.append(Office(code: "OFF-099", name: "Nowhere", area: "D-99", mobile: false))
        let file = invalid
        try await withStore { store, _ in
            let data = ReferenceData()
            await #expect(throws: ReferenceFileInvalid.self) {
                try await data.importFile(file, store: store, metadata: Self.metadata)
            }
            let events = try await Self.referenceEvents(store)
            #expect(events.isEmpty)
            #expect(data.catalog == ReferenceCatalog())
        }
    }
}
