import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import Foundation
import Testing

/// The single-case rule (`AccessPolicy.canRead`) and the lists' scopes (`CaseScope(readableBy:)`, SQL over the
/// projection) are two forms of one rule: for random cases and every kind of principal, a principal's list holds
/// exactly the cases it can read one by one.
@Suite(.timeLimit(.minutes(3))) struct AccessAgreementTests {
    static func principals() -> [Principal] {
        var principals: [Principal] = [
            Principal(tokenID: UUID(), role: .admin, scope: nil, label: nil),
            Principal(tokenID: UUID(), role: .auditor, scope: nil, label: nil),
        ]
        for office in Workload.offices {
            principals.append(Principal(tokenID: UUID(), role: .office, scope: office, label: nil))
        }
        for programme in Workload.programmes + ["NUTRITION"] {
            for focal in [false, true] {
                principals.append(
                    Principal(tokenID: UUID(), role: .programme, scope: programme, label: nil, focalPoint: focal))
            }
        }
        let areas = ["TM", "P-1", "P-2", "D-11", "D-12", "D-21", "D-22"] + Workload.communities
        for area in areas { principals.append(Principal(tokenID: UUID(), role: .coordinator, scope: area, label: nil)) }
        return principals
    }

    /// The parent of a Workload area code: C-111 → D-11 → P-1 → TM.
    static func parent(of area: String) -> String? {
        let digits = area.dropFirst(2)
        switch area.first {
        case "C": return "D-" + digits.dropLast()
        case "D": return "P-" + digits.dropLast()
        case "P": return "TM"
        default: return nil
        }
    }

    static func parties(of events: [RecordedEvent], type: String) throws -> Parties? {
        switch type {
        case Complaint.streamType: try Complaint.replay(events.map(Complaint.Event.decode)).map(Complaint.parties)
        case Appeal.streamType: try Appeal.replay(events.map(Appeal.Event.decode)).map(Appeal.parties)
        case Referral.streamType: try Referral.replay(events.map(Referral.Event.decode)).map(Referral.parties)
        default: nil
        }
    }

    /// Appeals and referrals that follow from sensitive complaints (the walks make none): sensitive with the
    /// complaint's readers, a referral's source a programme, an office or another programme's.
    static func appendSensitiveFollowUps(to store: EventStore, seed: UInt64, at: Timestamp) async throws {
        let person = Identity.person(PersonDetails(name: "Test Person"))
        for (index, office) in Workload.offices.enumerated() {
            let programme = Workload.programmes[index % Workload.programmes.count]
            let appeal = Appeal.Event.lodged(
                Appeal.Lodgement(
                    subject: .complaintOutcome(complaintID: "X-\(seed)-\(index)"), grounds: "Reopened",
                    programme: programme, area: Workload.communities[index * 2], office: office, appellant: person,
                    contactPreference: .phone, sensitive: true, at: at))
            _ = try await store.append(
                to: StreamName(type: Appeal.streamType, id: "S-A-\(seed)-\(index)"), expectedVersion: .noStream,
                events: [appeal.eventData()])
            let referral = Referral.Event.created(
                Referral.Request(
                    source: [programme, office][index % 2], receiver: "HEALTH",
                    person: .clear(Referral.ReferredPerson(kind: .household, reference: "HH-1")), reason: "Care",
                    urgency: .routine, referralType: "health", complaintID: "X-\(seed)-\(index)", sensitive: true,
                    at: at))
            _ = try await store.append(
                to: StreamName(type: Referral.streamType, id: "S-R-\(seed)-\(index)"), expectedVersion: .noStream,
                events: [referral.eventData()])
        }
    }

    @Test(arguments: [UInt64(11), 2_026, 90_210])
    func everyListHoldsExactlyTheCasesItsPrincipalCanRead(seed: UInt64) async throws {
        try await withStore { store, _ in
            let start = Timestamp(microsecondsSinceEpoch: 1_790_000_000_000_000)
            try await Workload.appendReference(to: store, at: start)
            var rng = SeededRandom(seed: seed)
            for index in 0..<150 {
                let kind = CaseWalk.Kind.allCases.randomElement(using: &rng) ?? .complaint
                var walk = CaseWalk(kind: kind, id: "X-\(seed)-\(index)", start: start)
                let events = walk.life(&rng)
                guard !events.isEmpty else { continue }
                _ = try await store.append(to: walk.stream, expectedVersion: .noStream, events: events)
            }
            // Escalations move complaints out of their lodging area: the lists and the single reads must follow.
            var escalated = 0
            for index in 0..<150 where escalated < 25 {
                let stream = StreamName(type: Complaint.streamType, id: "X-\(seed)-\(index)")
                let events = try await store.readStream(stream).map(Complaint.Event.decode)
                guard let state = Complaint.replay(events), let parent = Self.parent(of: state.area),
                    case .success(let decided) = Complaint.decide(
                        .escalate(toArea: parent, reason: "Up", at: start), state: state)
                else { continue }
                _ = try await store.append(
                    to: stream, expectedVersion: .exact(Int64(events.count)), events: decided.map { $0.eventData() })
                escalated += 1
            }
            #expect(escalated > 0)
            try await Self.appendSensitiveFollowUps(to: store, seed: seed, at: start)
            _ = try await catchUpProjections(client: store.client, store: store, logger: TestDatabases.logger)
            let reference = ReferenceData()
            try await reference.load(from: store)
            let catalog = reference.catalog
            var parties: [String: Parties] = [:]
            for type in [Complaint.streamType, Appeal.streamType, Referral.streamType] {
                let log = try await store.allEvents(ofStreamType: type)
                for (stream, events) in Dictionary(grouping: log, by: \.stream) {
                    parties[stream.id] = try Self.parties(of: events, type: stream.type)
                }
            }
            #expect(parties.values.contains { $0.sensitive }, "the walk made no sensitive complaint")
            let queries = ProjectionQueries(client: store.client, logger: TestDatabases.logger)
            for principal in Self.principals() {
                let (items, next) = try await queries.cases(
                    scope: CaseScope(readableBy: principal, catalog: catalog), filter: CaseFilter(), order: .newest,
                    after: nil,
                    limit: 10_000, now: start)
                #expect(next == nil)
                let listed = Set(items.map(\.id))
                let readable = Set(
                    parties.filter { AccessPolicy.canRead(principal, $0.value, catalog: catalog) }.map(\.key))
                #expect(
                    listed == readable,
                    """
                    \(principal.role) \(principal.scope ?? "-") focal \(principal.focalPoint): \
                    listed only \(listed.subtracting(readable).sorted()), \
                    readable only \(readable.subtracting(listed).sorted())
                    """)
            }
        }
    }
}
