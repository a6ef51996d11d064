import ConcordCore
import ConcordStore
import Foundation
import Logging
import PostgresNIO

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

    /// Where a past view stops: the position given, or the last event recorded at or before `time` (the log's
    /// `recorded_at` never goes back, so that is one well-defined point).
    public static func position(_ position: Int64?, orTime time: Timestamp?, store: EventStore) async throws -> Int64 {
        if let position { return position }
        return try await store.position(at: time ?? .now())
    }

    /// The indicators by programme, over everything recorded up to `position`, judged at `time` (default: the time
    /// of the event at `position`), as the JSON document `concord audit as-of ... indicators` prints.
    public static func indicators(
        position: Int64, time: Timestamp?, client: PostgresClient, store: EventStore, logger: Logger
    ) async throws -> Data {
        var moment = time ?? .now()
        if time == nil, let event = try await store.readStored(after: position - 1, through: position, limit: 1).first {
            moment = event.event.recordedAt
        }
        let at = moment
        return try await withProjectionsAsOf(position: position, client: client, store: store, logger: logger) {
            tables in
            let indicators = try await Indicators.compute(
                client: client, tables: tables, scope: .everything, grouping: .programme,
                from: Timestamp(microsecondsSinceEpoch: 0), to: at, now: at, logger: logger)
            return try indicators.json(extra: [
                "as_of_position": position, "as_of": at.rfc3339, "group_by": "programme",
                "from": Timestamp(microsecondsSinceEpoch: 0).rfc3339, "to": at.rfc3339,
            ])
        }
    }
}
