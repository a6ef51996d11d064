/// A short code that a complainant is given to follow a complaint, appeal or referral without an account, e.g.
/// `C-7K3Q-9DX`: a kind letter, a dash, four characters, a dash, three characters of which the last is a check
/// character. It is read out on the phone or sent by SMS, so its alphabet leaves out the characters people confuse
/// (0 and O, 1, I and L).
///
/// The check character makes the weighted sum of the eight characters' values zero modulo 31 (the alphabet's size,
/// a prime). The weights are 2, 3, ..., 8 for the kind letter and the six payload characters and 1 for the check
/// character: all different and non-zero modulo 31, so every change of one character and every swap of two
/// neighbouring characters (or of two characters one apart) changes the sum, and the code no longer checks.
public struct TrackingCode: Sendable, Hashable, CustomStringConvertible {
    /// What the code tracks; the raw value is the code's first letter.
    public enum Kind: Character, Sendable, Hashable, CaseIterable {
        case complaint = "C"
        case appeal = "A"
        case referral = "R"

        /// The stream type of the log: `complaint`, `appeal` or `referral`.
        public var streamType: String {
            switch self {
            case .complaint: "complaint"
            case .appeal: "appeal"
            case .referral: "referral"
            }
        }

        /// The kind for a stream type, or nil for a stream type that has no tracking codes.
        public init?(streamType: String) {
            guard let kind = Self.allCases.first(where: { $0.streamType == streamType }) else { return nil }
            self = kind
        }
    }

    /// The characters of a code, in the order of their values 0...30.
    public static let alphabet: [Character] = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")

    /// How many random characters a code carries between its kind letter and its check character.
    public static let payloadLength = 6

    public let kind: Kind
    /// The canonical form, e.g. `C-7K3Q-9DX`.
    public let text: String

    public var description: String { self.text }

    /// A new random code of `kind`. Uniqueness is the caller's business (31^6, about 887 million, codes per kind).
    public static func generate(kind: Kind, using rng: inout some RandomNumberGenerator) -> TrackingCode {
        let payload = (0..<Self.payloadLength).map { _ in Int.random(in: 0..<Self.alphabet.count, using: &rng) }
        let values = [Self.value(of: kind)] + payload
        return TrackingCode(kind: kind, values: values + [Self.checkValue(values)])
    }

    /// Reads a code as a person typed it: lowercase, spaces, missing or misplaced dashes are fine. Tells a code that
    /// cannot be one (`malformed`, saying why) from a code with a typo (`checkFailed`).
    public static func parse(_ input: String) -> Result<TrackingCode, TrackingCodeError> {
        let characters = input.uppercased().filter { !Self.isSeparator($0) }
        if let stranger = characters.first(where: { Self.value(of: $0) == nil }) {
            return .failure(.malformed(Self.strangerReason(stranger)))
        }
        let values = characters.compactMap { Self.value(of: $0) }
        guard values.count == Self.payloadLength + 2 else {
            return .failure(
                .malformed("a tracking code has 8 letters and digits, like C-7K3Q-9DX; this one has \(values.count)"))
        }
        guard let kind = characters.first.flatMap(Kind.init(rawValue:)) else {
            return .failure(.malformed("a tracking code starts with C (complaint), A (appeal) or R (referral)"))
        }
        guard Self.weightedSum(values) == 0 else { return .failure(.checkFailed) }
        return .success(TrackingCode(kind: kind, values: values))
    }

    /// The case id a person means by `input`: the canonical tracking code when it is one (any case, separators
    /// and letter case as the public lookup takes them), otherwise `input` as typed (ids imported from elsewhere).
    public static func caseID(_ input: String) -> String {
        guard case .success(let code) = Self.parse(input) else { return input }
        return code.text
    }

    /// Builds the canonical text from the eight character values (kind, payload, check).
    private init(kind: Kind, values: [Int]) {
        let characters = values.map { Self.alphabet[$0] }
        self.kind = kind
        self.text =
            String(characters[0]) + "-" + String(characters[1...4]) + "-" + String(characters[5...])
    }

    /// The check value that makes the weighted sum of `values` (kind and payload) plus the check zero modulo 31.
    static func checkValue(_ values: [Int]) -> Int {
        let modulus = Self.alphabet.count
        return (modulus - Self.weightedSum(values)) % modulus
    }

    /// Σ weight × value modulo 31, with weights 2, 3, ... for the characters before the check character and 1 for
    /// the check character (the eighth) itself.
    static func weightedSum(_ values: [Int]) -> Int {
        let checkPosition = Self.payloadLength + 1
        return values.enumerated().reduce(0) { sum, item in
            let weight = item.offset == checkPosition ? 1 : item.offset + 2
            return (sum + weight * item.element) % Self.alphabet.count
        }
    }

    private static func value(of kind: Kind) -> Int {
        Self.value(of: kind.rawValue) ?? 0  // the kind letters are in the alphabet; see the tests
    }

    private static func value(of character: Character) -> Int? {
        Self.alphabet.firstIndex(of: character)
    }

    /// Spaces and dashes of any kind (phones turn `-` into `–`) are ignored.
    private static func isSeparator(_ character: Character) -> Bool {
        character.isWhitespace || character == "-" || character == "–" || character == "—" || character == "_"
    }

    private static func strangerReason(_ character: Character) -> String {
        switch character {
        case "0", "O": "'\(character)' is never used in tracking codes (no 0 or O); check the code"
        case "1", "I", "L": "'\(character)' is never used in tracking codes (no 1, I or L); check the code"
        default: "'\(character)' cannot be in a tracking code: only letters and the digits 2 to 9"
        }
    }
}

/// Why a text is not a tracking code.
public enum TrackingCodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// It cannot be a tracking code: wrong length, a character outside the alphabet or a wrong first letter. The
    /// reason says which.
    case malformed(String)
    /// It looks like a tracking code but its check character does not match: a character was mistyped or two were
    /// swapped.
    case checkFailed

    public var description: String {
        switch self {
        case .malformed(let reason): reason
        case .checkFailed: "this tracking code has a typo: a character is wrong or two are swapped"
        }
    }
}
