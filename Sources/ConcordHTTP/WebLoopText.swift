import ConcordCore
import ConcordWeb
import Foundation

/// The loop in plain words, in the visitor's language: "Counter-referral feedback from Health Insurance, due
/// 1 December". The API's `missing_step` says the same in English for machines; the pages say it from the locale
/// files (`loop.step.*`, `loop.due`, `loop.overdue`).
extension WebController {
    func loopSentence(_ summary: CaseSummary, locale: WebLocale) -> String {
        guard let pending = summary.pending, summary.loop != .closed else { return locale.text("loop.closed") }
        let catalog = self.reference.data.catalog
        let party: String
        switch pending.party.kind {
        case .area:
            let area = catalog.area(pending.party.code)?.name ?? pending.party.code
            party = locale.text("loop.area_party").replacingOccurrences(of: "{area}", with: area)
        case .programme, .office: party = catalog.name(of: pending.party)
        }
        var sentence = locale.text("loop.step.\(pending.step.rawValue)").replacingOccurrences(
            of: "{party}", with: party)
        if let due = pending.dueAt {
            let now = self.clock.now()
            let key = due < now ? "loop.overdue" : "loop.due"
            sentence += locale.text(key).replacingOccurrences(of: "{date}", with: locale.day(due, now: now))
        }
        return sentence
    }
}

extension WebLocale {
    /// A day as people write it in the language: "1 December" ("1 décembre"), with the year when it is not this
    /// year's.
    func day(_ time: Timestamp, now: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: self.code == "fr" ? "fr_FR" : "en_GB")
        formatter.timeZone = TimeZone(identifier: "UTC")
        let date = Date(timeIntervalSince1970: Double(time.microsecondsSinceEpoch) / 1_000_000)
        let sameYear = time.rfc3339.prefix(4) == now.rfc3339.prefix(4)
        formatter.setLocalizedDateFormatFromTemplate(sameYear ? "dMMMM" : "dMMMMyyyy")
        return formatter.string(from: date)
    }

    /// A whole number as the language writes it ("1,234"; "1 234").
    func integer(_ value: Int64) -> String {
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: self.code == "fr" ? "fr_FR" : "en_GB")
        formatter.numberStyle = .decimal
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }
}
