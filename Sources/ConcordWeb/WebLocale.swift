import ConcordCore
import Foundation

/// The languages the pages speak, their strings (`web/locales/<code>.json`) and their date format.
public struct WebLocale: Sendable {
    public static let supported = ["en", "fr"]
    public static let fallback = "en"

    public let code: String
    public let strings: [String: String]

    /// Every supported language, loaded once.
    static let all: [String: WebLocale] = {
        var out: [String: WebLocale] = [:]
        for code in supported {
            // `en.json`, then each `en.<part>.json` (one per group of pages, so that pages are added without
            // editing one shared file).
            let names =
                ["\(code).json"]
                + WebAssets.files.keys.filter {
                    $0.hasPrefix("\(code).") && $0 != "\(code).json" && $0.hasSuffix(".json")
                }
                .sorted()
            var strings: [String: String] = [:]
            for name in names {
                let data = WebAssets.files[name] ?? Data("{}".utf8)
                let part = (try? JSONSerialization.jsonObject(with: data)) as? [String: String] ?? [:]
                strings.merge(part) { first, _ in first }
            }
            out[code] = WebLocale(code: code, strings: strings)
        }
        return out
    }()

    public static func named(_ code: String) -> WebLocale {
        all[code] ?? all[fallback] ?? WebLocale(code: fallback, strings: [:])
    }

    /// The visitor's language: the `lang` cookie when it names a supported one, else the first supported language
    /// of `Accept-Language` (quality values are taken in the order given, which browsers sort), else English.
    public static func choose(cookie: String?, acceptLanguage: String?) -> WebLocale {
        if let cookie, supported.contains(cookie) { return named(cookie) }
        for part in (acceptLanguage ?? "").split(separator: ",") {
            let tag = part.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            let language = String(tag.prefix { $0 != "-" && $0 != "_" })
            if supported.contains(language) { return named(language) }
        }
        return named(fallback)
    }

    /// The string for `key`, or the English one, or the key itself (a missing string shows, it does not crash).
    public func text(_ key: String) -> String {
        strings[key] ?? WebLocale.all[WebLocale.fallback]?.strings[key] ?? key
    }

    /// A time in the language's usual form, in UTC (the service keeps UTC; the zone is said).
    public func format(_ time: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: code == "fr" ? "fr_FR" : "en_GB")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateStyle = .medium
        formatter.timeStyle = .short
        let date = Date(timeIntervalSince1970: Double(time.microsecondsSinceEpoch) / 1_000_000)
        return formatter.string(from: date) + " UTC"
    }
}
