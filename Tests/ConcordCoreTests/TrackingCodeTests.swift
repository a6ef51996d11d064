import ConcordCore
import ConcordTestSupport
import Testing

@Suite struct TrackingCodeTests {
    static let alphabet = TrackingCode.alphabet

    @Test func generatedCodesHaveTheFormatAndParseBack() {
        var rng = SeededRandom(seed: 7)
        for kind in TrackingCode.Kind.allCases {
            let codes = (0..<5_000).map { _ in TrackingCode.generate(kind: kind, using: &rng) }
            let wrong = codes.filter { !Self.isWellFormed($0, kind) || TrackingCode.parse($0.text) != .success($0) }
            let wrongCount = wrong.count
            #expect(wrongCount == 0, "\(wrong.prefix(5))")
            #expect(Set(codes).count > 4_990, "codes should rarely repeat")
        }
    }

    @Test func theAlphabetHas31UnambiguousCharactersAndTheKindLetters() {
        #expect(Self.alphabet.count == 31 && Set(Self.alphabet).count == 31)
        #expect(!Self.alphabet.contains { "01OIL".contains($0) })
        #expect(TrackingCode.Kind.allCases.allSatisfy { Self.alphabet.contains($0.rawValue) })
        #expect(TrackingCode.Kind(streamType: "appeal") == .appeal && TrackingCode.Kind(streamType: "x") == nil)
    }

    @Test func parseAcceptsWhatAHurriedClerkTypes() throws {
        var rng = SeededRandom(seed: 11)
        let code = TrackingCode.generate(kind: .referral, using: &rng)
        let bare = code.text.filter { $0 != "-" }
        let variants = [
            bare, bare.lowercased(), " " + code.text.lowercased() + " ", bare.map { "\($0) " }.joined(),
            code.text.replacingOccurrences(of: "-", with: "–"), String(bare.prefix(3)) + "-" + bare.dropFirst(3),
        ]
        for variant in variants {
            #expect(TrackingCode.parse(variant) == .success(code), "\(variant)")
        }
    }

    @Test func parseSaysWhyAMalformedCodeIsNotACode() {
        #expect(
            Self.reason("C-7K3Q-9D") ?? ""
                == "a tracking code has 8 letters and digits, like C-7K3Q-9DX; this one has 7")
        #expect(Self.reason("") ?? "" == "a tracking code has 8 letters and digits, like C-7K3Q-9DX; this one has 0")
        #expect(Self.reason("C-7K3Q-0DX")?.hasPrefix("'0' is never used") == true)
        #expect(Self.reason("c-7k3q-9dl")?.hasPrefix("'L' is never used") == true)
        #expect(Self.reason("C-7K3Q-9D#")?.hasPrefix("'#' cannot be in a tracking code") == true)
        #expect(Self.reason("X-7K3Q-9DX") == "a tracking code starts with C (complaint), A (appeal) or R (referral)")
        #expect(TrackingCodeError.checkFailed.description.contains("typo"))
    }

    /// Every single-character substitution, at every position, of many random codes is caught by the check (or,
    /// for the kind letter, by the kind rule).
    @Test func everySubstitutionIsDetected() {
        var rng = SeededRandom(seed: 2026)
        var tried = 0
        var missed: [String] = []
        for _ in 0..<1_000 {
            let kind = TrackingCode.Kind.allCases.randomElement(using: &rng) ?? .complaint
            let characters = Self.characters(TrackingCode.generate(kind: kind, using: &rng))
            for position in characters.indices {
                for replacement in Self.alphabet where replacement != characters[position] {
                    var typed = characters
                    typed[position] = replacement
                    tried += 1
                    if !Self.isRefused(typed) { missed.append("\(String(characters)) → \(String(typed))") }
                }
            }
        }
        #expect(tried == 1_000 * 8 * 30)
        let missedCount = missed.count
        #expect(missedCount == 0, "\(missed.prefix(5))")
    }

    /// Every swap of two neighbouring different characters, and of two characters one apart, is caught.
    @Test func everyTranspositionIsDetected() {
        var rng = SeededRandom(seed: 99)
        var (tried, missed) = (0, [String]())
        for _ in 0..<20_000 {
            let kind = TrackingCode.Kind.allCases.randomElement(using: &rng) ?? .complaint
            let characters = Self.characters(TrackingCode.generate(kind: kind, using: &rng))
            for distance in 1...2 {
                for position in 0..<(characters.count - distance)
                where characters[position] != characters[position + distance] {
                    var typed = characters
                    typed.swapAt(position, position + distance)
                    tried += 1
                    if !Self.isRefused(typed) { missed.append("\(String(characters)) → \(String(typed))") }
                }
            }
        }
        #expect(tried > 20_000 * 10)
        let missedCount = missed.count
        #expect(missedCount == 0, "\(missed.prefix(5))")
    }

    /// A mistyped code is reported as a typo, not as malformed, when the kind letter is intact.
    @Test func aMistypedCodeIsReportedAsATypo() {
        var rng = SeededRandom(seed: 5)
        let characters = Self.characters(TrackingCode.generate(kind: .complaint, using: &rng))
        var typed = characters
        typed[4] = typed[4] == "Z" ? "Y" : "Z"
        #expect(TrackingCode.parse(String(typed)) == .failure(.checkFailed))
    }

    static func isWellFormed(_ code: TrackingCode, _ kind: TrackingCode.Kind) -> Bool {
        let characters = Array(code.text)
        return characters.count == 10 && characters[0] == kind.rawValue && characters[1] == "-"
            && characters[6] == "-" && code.kind == kind && code.description == code.text
            && characters.enumerated().allSatisfy { [1, 6].contains($0.offset) || Self.alphabet.contains($0.element) }
    }

    /// The checked characters of a code (kind letter, payload, check), without dashes.
    static func characters(_ code: TrackingCode) -> [Character] {
        Array(code.text.filter { $0 != "-" })
    }

    static func isRefused(_ characters: [Character]) -> Bool {
        guard case .failure = TrackingCode.parse(String(characters)) else { return false }
        return true
    }

    static func reason(_ input: String) -> String? {
        guard case .failure(.malformed(let reason)) = TrackingCode.parse(input) else { return nil }
        return reason
    }
}
