import ConcordCore
import ConcordStore

/// Decides, with the one `AccessPolicy`, whether a reader may be told of a case event and what it reads of it:
/// only a reader who reads the case in full (as the case stood after that event) is told; it then sees the event's
/// content as the API's history shows it to the same role (the person and the free texts only for the roles that
/// read them). Webhook subscriptions and the event stream both go through it.
public struct CaseDisclosure: Sendable {
    public let store: EventStore
    /// Opens the person and the texts for the roles that read them; nil: they stay out.
    public let vault: PersonalDataVault?
    public let reference: ReferenceData

    public init(store: EventStore, vault: PersonalDataVault?, reference: ReferenceData) {
        self.store = store
        self.vault = vault
        self.reference = reference
    }

    /// The CloudEvent of `event` for `reader`; nil when it is not a case event or `reader` may not read the case.
    public func cloudEvent(_ event: RecordedEvent, for reader: Principal) async throws -> JSONValue? {
        switch event.stream.type {
        case Complaint.streamType: try await self.disclosed(event, as: Complaint.self, to: reader)
        case Appeal.streamType: try await self.disclosed(event, as: Appeal.self, to: reader)
        case Referral.streamType: try await self.disclosed(event, as: Referral.self, to: reader)
        default: nil
        }
    }

    private func disclosed<Kind: CaseKind>(
        _ event: RecordedEvent, as kind: Kind.Type, to reader: Principal
    ) async throws -> JSONValue? {
        // The parties are in clear in the log: the decision needs no key.
        let loaded = try await CaseRepository<Kind>(store: self.store).load(event.stream.id, upTo: event.streamVersion)
        guard let state = loaded.state,
            AccessPolicy.reading(reader, Kind.parties(state), catalog: self.reference.catalog) == .full
        else { return nil }
        let (texts, person) = (AccessPolicy.readsTexts(reader), AccessPolicy.readsPerson(reader))
        var opened = event
        if texts || person, let vault = self.vault { opened = try await vault.unseal([event]).first ?? event }
        return CaseCloudEvent.envelope(event, content: CaseTexts.content(opened, texts: texts, person: person))
    }
}
