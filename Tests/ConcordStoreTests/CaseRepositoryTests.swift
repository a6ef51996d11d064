import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

enum CaseFixture {
    static func lodgement(at: Timestamp = .now()) -> Complaint.Lodgement {
        Complaint.Lodgement(
            channel: .walkIn, programme: "CCT", category: .paymentDelay, description: "The March payment is late.",
            area: "D-01", office: "OFF-001",
            complainant: .person(
                PersonDetails(name: "Amina Diallo", phone: "+221 77 000 00 00", nationalID: nil, address: nil)),
            contactPreference: .sms, at: at)
    }
    static let metadata = EventMetadata(actor: "token:test", role: "office", scope: "OFF-001")
}

@Suite struct CaseRepositoryTests {
    @Test func commandsLoadDecideAndAppend() async throws {
        try await withStore { store, _ in
            let complaints = CaseRepository<Complaint>(store: store)
            let lodged = try await complaints.handle("C-TEST-001", metadata: CaseFixture.metadata) { _ in
                .lodge(CaseFixture.lodgement())
            }
            #expect(lodged.loaded.version == 1 && !lodged.replayed)
            let acknowledged = try await complaints.handle("C-TEST-001", metadata: CaseFixture.metadata) { _ in
                .acknowledge(at: .now())
            }
            #expect(acknowledged.loaded.version == 2)
            #expect(Complaint.stateName(acknowledged.loaded.state) == "acknowledged")
            let reloaded = try await complaints.load("C-TEST-001")
            #expect(reloaded.state == acknowledged.loaded.state)
            #expect(reloaded.events.map(\.metadata) == [CaseFixture.metadata, CaseFixture.metadata])
        }
    }

    @Test func aRefusedCommandWritesNothingAndNamesTheState() async throws {
        try await withStore { store, _ in
            let complaints = CaseRepository<Complaint>(store: store)
            let error = await #expect(throws: Rejection.self) {
                try await complaints.handle("C-NONE", metadata: CaseFixture.metadata) { _ in .acknowledge(at: .now()) }
            }
            #expect(error?.currentState == "none")
            #expect(error?.allowedCommands == ["lodge"])
            let head = try await store.head()
            #expect(head.position == 0)
        }
    }

    @Test func ifMatchRefusesAStaleVersion() async throws {
        try await withStore { store, _ in
            let complaints = CaseRepository<Complaint>(store: store)
            _ = try await complaints.handle("C-1", metadata: CaseFixture.metadata) { _ in
                .lodge(CaseFixture.lodgement())
            }
            let error = await #expect(throws: CaseRepository<Complaint>.Refusal.self) {
                try await complaints.handle("C-1", ifMatch: 3, metadata: CaseFixture.metadata) { _ in
                    .acknowledge(at: .now())
                }
            }
            #expect(error == .versionMismatch(current: 1))
            let ok = try await complaints.handle("C-1", ifMatch: 1, metadata: CaseFixture.metadata) { _ in
                .acknowledge(at: .now())
            }
            #expect(ok.loaded.version == 2)
        }
    }

    @Test func concurrentCommandsOnOneStreamApplyOneAfterTheOther() async throws {
        try await withStore { store, _ in
            let complaints = CaseRepository<Complaint>(store: store)
            _ = try await complaints.handle("C-2", metadata: CaseFixture.metadata) { _ in
                .lodge(CaseFixture.lodgement())
            }
            _ = try await complaints.handle("C-2", metadata: CaseFixture.metadata) { _ in .acknowledge(at: .now()) }
            _ = try await complaints.handle("C-2", metadata: CaseFixture.metadata) { _ in
                .assign(programme: "CCT", officer: nil, at: .now())
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        _ = try await complaints.handle("C-2", metadata: CaseFixture.metadata) { _ in
                            .addNote(text: "note \(index)", at: .now())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let loaded = try await complaints.load("C-2")
            #expect(loaded.version == 15)
            #expect(try await store.verify().isSound)
        }
    }

    @Test func idempotentRetriesReturnTheOriginalStateEvenAfterLaterChanges() async throws {
        try await withStore { store, _ in
            let complaints = CaseRepository<Complaint>(store: store)
            let digest: [UInt8] = Array("POST /v1/complaints {...}".utf8)
            // Two racing retries of the same lodge, then a later change, then a third retry.
            async let first = complaints.handle(
                "C-3", idempotencyKey: "k", requestDigest: digest, metadata: CaseFixture.metadata
            ) { _ in
                .lodge(CaseFixture.lodgement())
            }
            async let second = complaints.handle(
                "C-3", idempotencyKey: "k", requestDigest: digest, metadata: CaseFixture.metadata
            ) { _ in
                .lodge(CaseFixture.lodgement())
            }
            let answers = try await [first, second]
            #expect(answers.filter { !$0.replayed }.count == 1)
            #expect(answers.map(\.loaded.version) == [1, 1])
            _ = try await complaints.handle("C-3", metadata: CaseFixture.metadata) { _ in .acknowledge(at: .now()) }
            let third = try await complaints.handle(
                "C-3", idempotencyKey: "k", requestDigest: digest, metadata: CaseFixture.metadata
            ) { _ in
                .lodge(CaseFixture.lodgement())
            }
            #expect(third.replayed && third.loaded.version == 1)
            #expect(third.loaded.state == answers[0].loaded.state)
            let reused = await #expect(throws: CaseRepository<Complaint>.Refusal.self) {
                try await complaints.handle(
                    "C-3", idempotencyKey: "k", requestDigest: [1], metadata: CaseFixture.metadata
                ) { _ in
                    .acknowledge(at: .now())
                }
            }
            #expect(reused == .idempotencyKeyReused)
            let head = try await store.head()
            #expect(head.position == 2)
        }
    }
}
