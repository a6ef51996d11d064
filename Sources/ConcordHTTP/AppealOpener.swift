import ConcordCore
import ConcordStore
import Crypto

/// Opens the appeal that a complaint reopened after a not-satisfied close calls for. The appeal's tracking code is
/// derived from the complaint and the reopening's version, so a retry finds the appeal it opened instead of
/// opening a second one.
struct AppealOpener: Sendable {
    let appeals: CaseRepository<Appeal>

    func open(
        _ loaded: CaseRepository<Complaint>.Loaded, complaintID: String, metadata: EventMetadata
    ) async throws
        -> [String: JSONValue]
    {
        guard let state = loaded.state,
            let lodgement = Complaint.appealOpened(by: loaded.domainEvents, complaintID: complaintID, state: state)
        else { return [:] }
        var random = SeededGenerator(seed: "\(complaintID)#\(loaded.version)")
        let appealID = TrackingCode.generate(kind: .appeal, using: &random).text
        do {
            _ = try await self.appeals.handle(appealID, metadata: metadata) { _ in .lodge(lodgement) }
        } catch let rejection as Rejection where rejection.currentState != "none" {
            // Opened by an earlier attempt of this request.
        }
        return ["appeal_opened": .string(appealID)]
    }
}

/// SplitMix64 seeded from a string's SHA-256: the same text always gives the same codes.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: String) {
        self.state = SHA256.hash(data: Array(seed.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
