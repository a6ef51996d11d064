import ConcordCore
import ConcordTestSupport
import Crypto
import Foundation
import Testing

/// Known answers from the documents, worked out without Concord's code (by hand, or with Python's `cryptography`
/// package): the formats operators and auditors rely on cannot drift without one of these failing.
@Suite struct DocumentedFormatTests {
    // MARK: sealing (docs/audit.md, "Sealing, byte for byte")

    /// K = 00 01 ... 1f, N = 00 01 ... 0b, S = C-UR5G-63S; the stored object computed with Python's `cryptography`.
    static var sealKey: SymmetricKey { SymmetricKey(data: [UInt8](0..<32)) }
    static let sealNonce = [UInt8](0..<12)
    static let sealSubject = "C-UR5G-63S"
    static let sealedVector =
        "AAECAwQFBgcICQoLPCC4eqiA4CGvAPri34hYKeq361ifWXNeSA+K63hLOpAqIpzNmPYiqESUT924pVVDU7dqfC6VYaFrd27Z4VwA"
    static let clear: JSONValue = ["name": "Amina Diallo", "phone": "+221770000000", "subject": "C-UR5G-63S"]

    @Test func sealingGivesTheDocumentedVectorByteForByte() throws {
        let sealed = try PersonalData.seal(
            Self.clear, subject: Self.sealSubject, key: Self.sealKey, nonce: try AES.GCM.Nonce(data: Self.sealNonce))
        #expect(sealed == ["sealed": .string(Self.sealedVector), "subject": "C-UR5G-63S"])
        // The documented stored line, member order and all.
        #expect(
            String(decoding: CanonicalJSON.encode(sealed), as: UTF8.self)
                == #"{"sealed":"\#(Self.sealedVector)","subject":"C-UR5G-63S"}"#)
    }

    @Test func theDocumentedVectorOpensAndItsLayoutIsNonceCipherTag() throws {
        let bytes = try #require(Data(base64Encoded: Self.sealedVector).map { [UInt8]($0) })
        #expect(try PersonalData.open(bytes, subject: Self.sealSubject, key: Self.sealKey) == Self.clear)
        // N ‖ C ‖ T, 28 bytes longer than P, and P is the 47 canonical bytes without `subject`.
        let plain = Array(#"{"name":"Amina Diallo","phone":"+221770000000"}"#.utf8)
        #expect(plain.count == 47 && bytes.count == 47 + 28)
        #expect(Array(bytes.prefix(12)) == Self.sealNonce)
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: bytes.prefix(12)), ciphertext: bytes.dropFirst(12).dropLast(16),
            tag: bytes.suffix(16))
        #expect(Array(try AES.GCM.open(box, using: Self.sealKey, authenticating: Array("C-UR5G-63S".utf8))) == plain)
        // Another subject's associated data does not open it.
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try PersonalData.open(bytes, subject: "C-7K3Q-9D3", key: Self.sealKey)
        }
    }

    // MARK: tracking codes (docs/api.md, "Tracking code format")

    /// The documented alphabet and weights, written out here rather than taken from `TrackingCode`.
    static let alphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
    static let weights = [2, 3, 4, 5, 6, 7, 8, 1]

    static func weightedSum(_ characters: [Character]) -> Int? {
        var sum = 0
        for (character, weight) in zip(characters, Self.weights) {
            guard let value = Self.alphabet.firstIndex(of: character) else { return nil }
            sum += value * weight
        }
        return sum % 31
    }

    @Test func documentedCodesCarryTheCheckCharacterWorkedByHand() {
        // C-UR5G-63S: C=10 U=25 R=22 5=3 G=14 6=4 3=1, weighted 2..8: 20+75+88+15+84+28+8 = 318 ≡ 8 (mod 31),
        // so the check value is 31 - 8 = 23, which is S.
        // C-7K3Q-9D3: C=10 7=5 K=17 3=1 Q=21 9=7 D=11, weighted: 20+15+68+5+126+49+88 = 371 ≡ 30, so 1, which is 3.
        for (code, check) in [("C-UR5G-63S", "S"), ("C-7K3Q-9D3", "3")] {
            #expect((try? TrackingCode.parse(code).get())?.text == code, "\(code)")
            #expect(String(code.suffix(1)) == check)
            // Every other check character is a typo.
            for other in Self.alphabet where String(other) != check {
                let mistyped = String(code.dropLast()) + String(other)
                #expect(TrackingCode.parse(mistyped) == .failure(.checkFailed), "\(mistyped)")
            }
        }
    }

    @Test func generatedCodesSatisfyTheDocumentedWeights() {
        var random = SeededRandom(seed: 31)
        for kind in TrackingCode.Kind.allCases {
            for _ in 0..<500 {
                let code = TrackingCode.generate(kind: kind, using: &random)
                let characters = code.text.filter { $0 != "-" }
                #expect(Self.weightedSum(Array(characters)) == 0, "\(code)")
            }
        }
    }

    // MARK: checkpoints (docs/audit.md, "The signed message" and "The checkpoint file")

    static let examplePublicKey = "tNFJsuScKmwnbwZUQNVeSsOZz4NHHIBFfMTWvdVsjHA="
    static let exampleCheckpoint =
        #"{"at":"2026-11-25T10:00:00.000000Z","hash":"c701eb4b38f325614c59e8671d30a68cad6f5d875d560d872a26329ed4d9b74e","#
        + #""key_id":"69621b6aeea27fa3","position":2,"#
        + #""signature":"zEQtrNCanX0i3uSGeB/F02bpCYiuTFcycbHoXvlIKiuDeCHmP/uToY8dknn2+oJTKXDoV1ZsYd8O4CMENortAQ=="}"#

    @Test func theExampleKeyHasTheDocumentedKeyID() throws {
        let raw = try #require(Data(base64Encoded: Self.examplePublicKey))
        let key = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        #expect(Checkpoint.keyID(of: key) == "69621b6aeea27fa3")
    }

    @Test func theExampleMessageIsTheDocumented117Bytes() throws {
        let hash = try #require([UInt8](hex: "c701eb4b38f325614c59e8671d30a68cad6f5d875d560d872a26329ed4d9b74e"))
        let at = try #require(Timestamp(rfc3339: "2026-11-25T10:00:00.000000Z"))
        let message = Checkpoint.message(position: 2, hash: hash, at: at)
        let documented =
            Array(
                "concord-checkpoint-v1\n2\nc701eb4b38f325614c59e8671d30a68cad6f5d875d560d872a26329ed4d9b74e\n"
                    .utf8) + Array("2026-11-25T10:00:00.000000Z\n".utf8)
        #expect(message == documented)
        #expect(message.count == 117)
    }

    @Test func theExampleCheckpointVerifiesAndReencodesToTheDocumentedLine() throws {
        let parsed = try JSONParser.parse(Array(Self.exampleCheckpoint.utf8))
        let checkpoint = try #require(Checkpoint(json: parsed))
        let key = try Curve25519.Signing.PublicKey(
            rawRepresentation: try #require(Data(base64Encoded: Self.examplePublicKey)))
        #expect(checkpoint.position == 2 && checkpoint.keyID == "69621b6aeea27fa3")
        #expect(checkpoint.isSigned(by: key))
        #expect(String(decoding: CanonicalJSON.encode(checkpoint.json), as: UTF8.self) == Self.exampleCheckpoint)
        // One bit of the time changed: the example signature no longer holds.
        var moved = checkpoint
        moved.at = try #require(Timestamp(rfc3339: "2026-11-25T10:00:00.000001Z"))
        #expect(!moved.isSigned(by: key))
    }
}
