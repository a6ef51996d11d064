import ConcordCore
import ConcordStore

/// What was known at a past position, replayed from the log alone (live tables are never read or touched).
public enum AsOf {
    /// A complaint, appeal or referral as it stood at `position`: its view, its loop (with the reference data as
    /// it stood then, and "now" the time of the position), its version; nil when it did not exist yet.
    /// `now` judges overdue (default: the time of the event at `position`).
    public static func caseView(
        id: String, position: Int64, now: Timestamp? = nil, store: EventStore
    ) async throws -> JSONValue? {
        // A data subject's stream shares its id with the case that first recorded the person: keep the case's.
        let caseTypes = [Complaint.streamType, Appeal.streamType, Referral.streamType]
        let events = try await store.readStored(streamID: id, through: position).map(\.event).filter {
            caseTypes.contains($0.stream.type)
        }
        guard let first = events.first else { return nil }
        let catalog = ReferenceCatalog.replay(
            try await store.allEvents(ofStreamType: ReferenceEvent.streamType, through: position).compactMap {
                try? ReferenceEvent.decode($0)
            })
        let at =
            try await store.readStored(after: position - 1, through: position, limit: 1).first?.event.recordedAt
            ?? events[events.count - 1].recordedAt
        let body: JSONValue?
        switch first.stream.type {
        case Complaint.streamType: body = try Self.view(Complaint.self, id: id, events, catalog: catalog, at: at)
        case Appeal.streamType: body = try Self.view(Appeal.self, id: id, events, catalog: catalog, at: at)
        case Referral.streamType: body = try Self.view(Referral.self, id: id, events, catalog: catalog, at: at)
        default: body = nil
        }
        guard case .object(var members)? = body else { return nil }
        members["as_of_position"] = .integer(position)
        members["as_of"] = .string(at.rfc3339)
        return .object(members)
    }

    static func view<M: StateViews & Summarized>(
        _ machine: M.Type, id: String, _ events: [RecordedEvent], catalog: ReferenceCatalog, at: Timestamp
    ) throws -> JSONValue? {
        guard let state = M.replay(try events.map { try M.Event.decode($0) }) else { return nil }
        return .object([
            "id": .string(id), "version": .integer(Int64(events.count)), M.streamType: M.view(state),
            "loop": M.summary(state, id: id, catalog: catalog).loopView(at: at) { catalog.name(of: $0) },
        ])
    }
}
