import ConcordCore
import Foundation

/// Numbers, shares and short dates as each language writes them: `1,234` and `1 234`, `42%` and `42 %`,
/// `Nov 2026` and `nov. 2026`.
extension WebLocale {
    var formattingLocale: Locale { Locale(identifier: self.code == "fr" ? "fr_FR" : "en_GB") }

    /// A count or a figure with at most two decimals.
    public func number(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.locale = self.formattingLocale
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 2
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }

    public func number(_ value: Int64) -> String { self.number(Double(value)) }

    /// A share (0.42) as a percentage.
    public func percent(_ share: Double) -> String {
        let formatter = NumberFormatter()
        formatter.locale = self.formattingLocale
        formatter.numberStyle = .percent
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: share)) ?? String(share)
    }

    /// A calendar month `2026-11` as the language names it, or the text itself when it is no month.
    public func month(_ text: String) -> String {
        guard let date = Self.monthParser.date(from: text) else { return text }
        let formatter = DateFormatter()
        formatter.locale = self.formattingLocale
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.setLocalizedDateFormatFromTemplate("MMM yyyy")
        return formatter.string(from: date)
    }

    /// A day, in UTC, without the time: `2 Dec 2026`, `2 déc. 2026`.
    public func day(_ time: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = self.formattingLocale
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateStyle = .medium
        formatter.timeStyle = .none
        return formatter.string(from: Date(timeIntervalSince1970: Double(time.microsecondsSinceEpoch) / 1_000_000))
    }

    private static var monthParser: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM"
        return formatter
    }
}
