import ConcordCore
import ConcordStore
import Foundation

/// The log's head position.
public func logHead(_ settings: DatabaseSettings) async throws -> Int64 {
    try await withStore(settings: settings) { store in try await store.head().position }
}

/// Appends a subject's `PersonalDataErased` without destroying its key: an erasure that stopped half-way.
public func appendErasureOnly(_ settings: DatabaseSettings, subject: String) async throws {
    try await withStore(settings: settings) { store in
        let event = DataSubject.Event.personalDataErased(
            reason: "Request 7", legalBasis: "DPA s.16", at: Timestamp(microsecondsSinceEpoch: 1_795_600_000_000_000))
        _ = try await store.append(
            to: StreamName(type: DataSubject.streamType, id: subject), expectedVersion: .noStream,
            events: [event.eventData(metadata: EventMetadata(actor: "test", role: "admin"))])
    }
}
