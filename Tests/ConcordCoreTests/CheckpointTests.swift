import ConcordCore
import Crypto
import Foundation
import Testing

@Suite struct CheckpointTests {
    static let hash = [UInt8](repeating: 0xAB, count: 32)

    @Test func aCheckpointIsSignedOverItsPositionHashAndTime() throws {
        let key = Curve25519.Signing.PrivateKey()
        let checkpoint = try Checkpoint.sign(position: 42, hash: Self.hash, at: Fixture.time(0), key: key)
        #expect(checkpoint.isSigned(by: key.publicKey))
        #expect(!checkpoint.isSigned(by: Curve25519.Signing.PrivateKey().publicKey))
        for forged in [
            Checkpoint(
                position: 43, hash: Self.hash, at: checkpoint.at, keyID: checkpoint.keyID,
                signature: checkpoint.signature),
            Checkpoint(
                position: 42, hash: [UInt8](repeating: 0, count: 32), at: checkpoint.at, keyID: checkpoint.keyID,
                signature: checkpoint.signature),
            Checkpoint(
                position: 42, hash: Self.hash, at: Fixture.time(1), keyID: checkpoint.keyID,
                signature: checkpoint.signature),
        ] {
            #expect(!forged.isSigned(by: key.publicKey))
        }
        #expect(Checkpoint(json: checkpoint.json) == checkpoint)
        #expect(Checkpoint(json: ["position": 1]) == nil)
        #expect(
            Checkpoint.message(position: 7, hash: [UInt8](repeating: 1, count: 32), at: Fixture.time(0))
                == Array(
                    ("concord-checkpoint-v1\n7\n" + String(repeating: "01", count: 32) + "\n" + Fixture.time(0).rfc3339
                        + "\n").utf8))
    }

    @Test func aLogIsJudgedAgainstACheckpoint() throws {
        let checkpoint = try Checkpoint.sign(
            position: 10, hash: Self.hash, at: Fixture.time(0), key: Curve25519.Signing.PrivateKey())
        #expect(checkpoint.problem(storedHash: Self.hash, head: 12) == nil)
        #expect(checkpoint.problem(storedHash: nil, head: 8)?.contains("ends at position 8") == true)
        #expect(
            checkpoint.problem(storedHash: [UInt8](repeating: 0, count: 32), head: 12)?.contains("rewritten") == true)
    }

    @Test func hexRoundTripsAndRefusesNonsense() {
        #expect([UInt8](hex: "00ff10Ab") == [0, 255, 16, 171])
        #expect([UInt8](hex: "0") == nil)
        #expect([UInt8](hex: "zz") == nil)
    }

    @Test func streamAuditRefusesWhatNoCommandCouldHaveProduced() throws {
        var audit = StreamAudit()
        func recorded(_ event: some DomainEvent, stream: StreamName, version: Int64) -> RecordedEvent {
            RecordedEvent(
                position: version, stream: stream, streamVersion: version, id: UUID(), type: event.eventType,
                schemaVersion: event.schemaVersion, payload: event.payload, metadata: EventMetadata(),
                recordedAt: Fixture.time(0), hash: [])
        }
        let stream = StreamName(type: Complaint.streamType, id: "C-1")
        let lodged = Complaint.Event.lodged(Fixture.complaint(programme: "CCT"))
        #expect(audit.problem(with: recorded(lodged, stream: stream, version: 1)) == nil)
        #expect(
            audit.problem(with: recorded(Complaint.Event.acknowledged(at: Fixture.time(1)), stream: stream, version: 2))
                == nil)
        let problem = audit.problem(
            with: recorded(Complaint.Event.closed(satisfaction: nil, at: Fixture.time(2)), stream: stream, version: 3))
        #expect(
            problem?.contains("ComplaintClosed cannot follow state acknowledged") == true,
            "\(String(describing: problem))")
        #expect(
            audit.problem(with: recorded(lodged, stream: stream, version: 3))?.contains("cannot follow") == true,
            "a second lodgement")
        let unknown = RecordedEvent(
            position: 9, stream: StreamName(type: "ticket", id: "1"), streamVersion: 1, id: UUID(), type: "X",
            schemaVersion: 1, payload: [:], metadata: EventMetadata(), recordedAt: Fixture.time(0), hash: [])
        #expect(audit.problem(with: unknown)?.contains("unknown stream type") == true)
    }
}
