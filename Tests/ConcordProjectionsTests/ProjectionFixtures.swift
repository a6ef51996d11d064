import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import PostgresNIO
import Testing

/// Times of the fixtures: day `n` after a fixed start.
enum Day {
    static let start = Timestamp(microsecondsSinceEpoch: 1_790_000_000_000_000)

    static func at(_ days: Double) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: Self.start.microsecondsSinceEpoch + Int64(days * 86_400_000_000))
    }
}

/// Runs commands on one case through the repository, as the service would.
struct Cases {
    let store: EventStore
    /// Seals personal data when given, as the service does.
    var vault: PersonalDataVault? = nil
    let metadata = EventMetadata(actor: "test", role: "admin")

    func complaint(_ id: String, _ commands: [Complaint.Command]) async throws {
        try await self.run(CaseRepository<Complaint>(store: self.store, vault: self.vault), id, commands)
    }

    func appeal(_ id: String, _ commands: [Appeal.Command]) async throws {
        try await self.run(CaseRepository<Appeal>(store: self.store, vault: self.vault), id, commands)
    }

    func referral(_ id: String, _ commands: [Referral.Command]) async throws {
        try await self.run(CaseRepository<Referral>(store: self.store, vault: self.vault), id, commands)
    }

    private func run<M: StateMachine>(
        _ repository: CaseRepository<M>, _ id: String, _ commands: [M.Command]
    )
        async throws
    {
        for command in commands {
            _ = try await repository.handle(id, metadata: self.metadata) { _ in command }
        }
    }

    static func lodgement(
        programme: String?, category: Complaint.Category = .paymentDelay, channel: Complaint.Channel = .walkIn,
        office: Int = 0, at: Timestamp
    ) -> Complaint.Lodgement {
        Complaint.Lodgement(
            channel: channel, programme: programme, category: category, description: "Fixture",
            area: Workload.communities[office * 2], office: Workload.offices[office],
            complainant: .person(PersonDetails(name: "Fixture Person", phone: "+255 700 111 222")),
            contactPreference: .phone, at: at)
    }

    static func referral(source: String = "OFF-1", receiver: String = "HEALTH", at: Timestamp) -> Referral.Request {
        Referral.Request(
            source: source, receiver: receiver,
            person: .clear(Referral.ReferredPerson(kind: .household, reference: "HH-9")),
            reason: "Needs care", urgency: .priority, referralType: "health", at: at)
    }

    static func appeal(programme: String, office: Int = 0, at: Timestamp) -> Appeal.Lodgement {
        Appeal.Lodgement(
            subject: .amountDecision, grounds: "Wrong amount", programme: programme,
            area: Workload.communities[office * 2], office: Workload.offices[office], appellant: .anonymous,
            contactPreference: .inPerson, at: at)
    }
}

/// The number of events of `type` in the log.
func count(ofType type: String, in client: PostgresClient) async throws -> Int64 {
    let rows = try await client.query(
        "SELECT count(*) FROM events WHERE event_type = \(type)", logger: TestDatabases.logger)
    for try await count in rows.decode(Int64.self) { return count }
    return 0
}
