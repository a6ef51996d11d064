import ConcordCore
import Logging

/// What one batch of events changes in the `cases` projection: the new rows, and whether the area tree changed.
struct FoldOutput: Sendable {
    var rows: [StreamName: (summary: CaseSummary, version: Int64, position: Int64)] = [:]
    var areasChanged = false
    var lastPosition: Int64

    /// This batch followed by `later`: later rows replace earlier ones of the same case.
    mutating func merge(_ later: FoldOutput) {
        self.rows.merge(later.rows) { _, newer in newer }
        self.areasChanged = self.areasChanged || later.areasChanged
        self.lastPosition = later.lastPosition
    }
}

/// Folds the log into case summaries, in log order. It keeps the reference data as the log defines it at the
/// position reached (so a due time comes from the service level in force when the case last changed, and a rebuild
/// computes exactly what the live run did) and a cache of case states, so that an event costs one `evolve`.
struct CaseFold: Sendable {
    private(set) var catalog = ReferenceCatalog()
    // Each kind's states apart, so that an event steps its case's state in place, not copying a large state out of
    // the cache and back.
    private var complaints: [StreamName: Complaint.State] = [:]
    private var appeals: [StreamName: Appeal.State] = [:]
    private var referrals: [StreamName: Referral.State] = [:]
    /// Past this many cached states the cache starts again; a miss costs one read of the stream.
    var cacheLimit = 1_000_000

    /// Reads a stream's events with versions below the given one: for a state missing from the cache.
    typealias LoadStream = @Sendable (StreamName, Int64) async throws -> [RecordedEvent]

    init(reference: [RecordedEvent] = []) {
        for event in reference { self.applyReference(event) }
    }

    mutating func apply(
        _ events: [RecordedEvent], after position: Int64, load: LoadStream, logger: Logger
    ) async throws -> FoldOutput {
        var output = FoldOutput(lastPosition: position)
        if self.complaints.count + self.appeals.count + self.referrals.count > self.cacheLimit {
            self.complaints.removeAll(keepingCapacity: true)
            self.appeals.removeAll(keepingCapacity: true)
            self.referrals.removeAll(keepingCapacity: true)
        }
        for event in events {
            output.lastPosition = event.position
            switch event.stream.type {
            case ReferenceEvent.streamType:
                if self.applyReference(event) { output.areasChanged = true }
            case Complaint.streamType, Appeal.streamType, Referral.streamType:
                do {
                    if let summary = try await self.applyCase(event, load: load) {
                        output.rows[event.stream] = (summary, event.streamVersion, event.position)
                    }
                } catch let error as EventPayloadError {
                    // A stored event that does not decode cannot be folded; `audit verify` names it. Skipping it is
                    // deterministic, so rebuilds agree with the live run.
                    logger.error(
                        "projection skips an event it cannot decode",
                        metadata: ["position": "\(event.position)", "error": "\(error.description)"])
                }
            default: continue
            }
        }
        return output
    }

    /// Applies a reference event; true when it defined an area.
    @discardableResult
    private mutating func applyReference(_ event: RecordedEvent) -> Bool {
        guard let reference = try? ReferenceEvent.decode(event) else { return false }
        self.catalog.apply(reference)
        if case .areaDefined = reference { return true }
        return false
    }

    private mutating func applyCase(_ event: RecordedEvent, load: LoadStream) async throws -> CaseSummary? {
        if !self.holds(event.stream), event.streamVersion > 1 {
            for earlier in try await load(event.stream, event.streamVersion) { _ = try self.evolve(earlier) }
        }
        return try self.evolve(event)
    }

    private func holds(_ stream: StreamName) -> Bool {
        switch stream.type {
        case Complaint.streamType: self.complaints[stream] != nil
        case Appeal.streamType: self.appeals[stream] != nil
        default: self.referrals[stream] != nil
        }
    }

    /// Folds one event into its case's state and returns the case's new summary (nil for an event that cannot
    /// start a stream, which `decide` never produces).
    @discardableResult
    private mutating func evolve(_ event: RecordedEvent) throws -> CaseSummary? {
        switch event.stream.type {
        case Complaint.streamType: try Self.step(Complaint.self, event, &self.complaints[event.stream], self.catalog)
        case Appeal.streamType: try Self.step(Appeal.self, event, &self.appeals[event.stream], self.catalog)
        default: try Self.step(Referral.self, event, &self.referrals[event.stream], self.catalog)
        }
    }

    private static func step<M: Summarized>(
        _: M.Type, _ event: RecordedEvent, _ state: inout M.State?, _ catalog: ReferenceCatalog
    ) throws -> CaseSummary? {
        M.evolve(&state, by: try M.Event.decode(event))
        guard let state else { return nil }
        return M.summary(state, id: event.stream.id, catalog: catalog)
    }

    /// Every area with itself and each area above it: the rows of `area_ancestors`.
    var areaAncestors: [(area: String, ancestor: String, level: String, depth: Int)] {
        var rows: [(String, String, String, Int)] = []
        for area in self.catalog.areas.values {
            var current: Area? = area
            var depth = 0
            while let found = current, depth <= self.catalog.areas.count {
                rows.append((area.code, found.code, found.level.rawValue, depth))
                current = found.parent.flatMap { self.catalog.area($0) }
                depth += 1
            }
        }
        return rows.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }
}
