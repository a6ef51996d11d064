import ConcordCore
import ConcordWeb
import Foundation

/// The words of SMS and USSD messages in one language: `web/locales/sms.<code>.json`, over the web workspace's
/// strings of that language (the status words `track.*` are shared with the tracking page), then English.
public struct SMSText: Sendable {
    public static let languages = ["en", "fr", "sw"]
    public let language: String
    let strings: [String: String]

    static let all: [String: SMSText] = {
        var all: [String: SMSText] = [:]
        for code in languages {
            var strings: [String: String] = [:]
            for file in ["\(code).json", "sms.\(code).json"] {
                let data = WebAssets.files[file] ?? Data("{}".utf8)
                let parsed = (try? JSONSerialization.jsonObject(with: data)) as? [String: String] ?? [:]
                strings.merge(parsed) { _, new in new }
            }
            all[code] = SMSText(language: code, strings: strings)
        }
        return all
    }()

    /// The messages in `language`, or English.
    public static func named(_ language: String) -> SMSText {
        all[language] ?? all["en"] ?? SMSText(language: "en", strings: [:])
    }

    /// The string `key` with each `{name}` replaced; the English one when this language lacks it; the key itself
    /// when no language has it (a missing string shows, it does not crash).
    public func text(_ key: String, _ values: [String: String] = [:]) -> String {
        var text = self.strings[key] ?? Self.all["en"]?.strings[key] ?? key
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text
    }

    /// A case's status in plain words, as the tracking page says it.
    public func status(kind: String, status: String) -> String {
        self.text("track.\(kind).\(status)")
    }

    /// A date as people write it in this language (UTC).
    public func day(_ time: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: ["fr": "fr_FR", "sw": "sw_KE"][self.language] ?? "en_GB")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateStyle = .medium
        formatter.timeStyle = .none
        return formatter.string(from: Date(timeIntervalSince1970: Double(time.microsecondsSinceEpoch) / 1_000_000))
    }
}

/// What an inbound SMS asks for: the short grammar, in several languages. `STATUS <code>` (fr `STATUT`, sw `HALI`,
/// any case, the code as typed) asks for a case's status; anything else is a complaint in the person's words.
public enum SMSRequest: Sendable, Equatable {
    case status(code: String, language: String)
    case complaint(text: String)
    /// Nothing but blanks: answered with how to use the service.
    case empty

    /// The status keywords and the language each one is answered in.
    public static let statusKeywords: [String: String] = [
        "STATUS": "en", "STATUT": "fr", "ETAT": "fr", "ÉTAT": "fr", "HALI": "sw",
    ]

    public static func parse(_ text: String) -> SMSRequest {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return .empty }
        let words = trimmed.split(whereSeparator: \.isWhitespace)
        if let first = words.first, let language = Self.statusKeywords[first.uppercased()] {
            // A complaint may start with the word "status" too; only a code after it makes a question.
            if words.count == 2 { return .status(code: words[1].uppercased(), language: language) }
            if words.count == 1 { return .status(code: "", language: language) }
        }
        return .complaint(text: trimmed)
    }
}
