import ConcordCore
import Synchronization

/// The reference data (programmes, areas, offices, service types) in memory, built from the `reference` streams of
/// the event log, which stays the only source of truth. Safe to share between tasks.
public final class ReferenceData: Sendable {
    private let state: Mutex<ReferenceCatalog>

    /// Reference data holding `catalog` (empty by default) until `load(from:)` replaces it.
    public init(catalog: ReferenceCatalog = ReferenceCatalog()) {
        self.state = Mutex(catalog)
    }

    /// The current catalog, a value copy.
    public var catalog: ReferenceCatalog {
        self.state.withLock { $0 }
    }

    /// Replaces the catalog with the one the log's `reference` streams define, read from the start of the log.
    /// Throws when a reference event cannot be decoded; the catalog is then left as it was. Returns the position
    /// of the last reference event read.
    @discardableResult
    public func load(from store: EventStore, pageSize: Int = 1_000) async throws -> Int64 {
        var catalog = ReferenceCatalog()
        let events = try await store.allEvents(ofStreamType: ReferenceEvent.streamType, pageSize: pageSize)
        for recorded in events { catalog.apply(try ReferenceEvent.decode(recorded)) }
        let loaded = catalog
        self.state.withLock { $0 = loaded }
        return events.last?.position ?? 0
    }

    /// Applies a reference event read from the log (a follower's update).
    public func apply(_ recorded: RecordedEvent) throws {
        let event = try ReferenceEvent.decode(recorded)
        self.state.withLock { $0.apply(event) }
    }

    /// Validates `file` against the current catalog, then appends each definition that is new or changed (one
    /// append per definition, to its own stream, with no version check: a later definition replaces an earlier
    /// one) and applies it to the catalog. Returns how many definitions were appended: 0 when the log already holds
    /// the file. Throws `ReferenceFileInvalid` with every problem, appending nothing, when the file is not valid.
    ///
    /// Load the catalog first: the comparison is with what this instance holds.
    @discardableResult
    public func importFile(
        _ file: ReferenceFile, store: EventStore, metadata: EventMetadata, at: Timestamp = .now()
    ) async throws -> Int {
        let current = self.catalog
        let problems = current.validate(file)
        guard problems.isEmpty else { throw ReferenceFileInvalid(problems: problems) }
        let events = file.events(comparedTo: current, at: at)
        for event in events {
            _ = try await store.append(
                to: event.stream, expectedVersion: .any, events: [event.eventData(metadata: metadata)])
            self.state.withLock { $0.apply(event) }
        }
        return events.count
    }
}

/// A reference file that cannot be imported: every problem, each naming its place in the file.
public struct ReferenceFileInvalid: Error, Sendable, Hashable, CustomStringConvertible {
    /// Never empty.
    public var problems: [FieldProblem]

    public init(problems: [FieldProblem]) {
        self.problems = problems
    }

    public var description: String {
        "the reference file is not valid: " + self.problems.map(\.description).joined(separator: "; ")
    }
}
