import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The dashboard's GET form: the period (`from` included, `to` excluded, as the API takes them), a programme and an
/// area. Checked as the API checks its parameters; what is wrong is said beside its field, with what was typed.
struct DashboardFilters {
    var typed: [String: String] = [:]
    /// Field name to the locale key of what is wrong with it.
    var errors: [String: String] = [:]
    var from: Timestamp
    var to: Timestamp
    var now: Timestamp
    var filter = CaseFilter()

    init(_ request: Request, catalog: ReferenceCatalog, now: Timestamp) {
        for name in ["from", "to", "programme", "area"] {
            let value =
                request.uri.queryParameters[Substring(name)].map(String.init)?.trimmingCharacters(in: .whitespaces)
                ?? ""
            if !value.isEmpty { self.typed[name] = value }
        }
        self.now = now
        self.to = now
        self.from = now
        self.to = self.time("to") ?? now
        // The API's default period: the year before `to`.
        self.from =
            self.time("from")
            ?? Timestamp(microsecondsSinceEpoch: self.to.microsecondsSinceEpoch - 365 * 86_400_000_000)
        if self.errors.isEmpty, self.from >= self.to { self.errors["from"] = "dash.error.order" }
        if let programme = self.typed["programme"] {
            if catalog.receivingProgramme(programme) == nil {
                self.errors["programme"] = "dash.error.programme"
            } else {
                self.filter.programme = programme
            }
        }
        if let area = self.typed["area"] {
            if catalog.area(area) == nil {
                self.errors["area"] = "dash.error.area"
            } else {
                self.filter.area = area
            }
        }
    }

    /// The strict RFC 3339 date or time of the API's `from` and `to`.
    mutating func time(_ name: String) -> Timestamp? {
        guard let text = self.typed[name] else { return nil }
        switch Timestamp.parseRFC3339(text) {
        case .success(let time): return time
        case .failure:
            self.errors[name] = "dash.error.date"
            return nil
        }
    }

    /// The filters as the API's query string (`&from=...`), for the CSV links: the file holds what the page shows.
    var apiQuery: String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return ["from", "to", "programme", "area"].compactMap { name in
            self.typed[name].map { "&\(name)=\($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
        }.joined()
    }

    /// The form's fields: what was typed, the choices, the errors.
    func view(catalog: ReferenceCatalog, locale: WebLocale) -> [String: Any] {
        let programmes = catalog.programmes.values.sorted { $0.code < $1.code }.map { programme in
            ["value": programme.code, "label": programme.name, "selected": programme.code == self.typed["programme"]]
                as [String: Any]
        }
        let areas = catalog.areas.values.sorted { $0.code < $1.code }.map { area in
            ["value": area.code, "label": "\(area.code) · \(area.name)", "selected": area.code == self.typed["area"]]
                as [String: Any]
        }
        var errors: [String: String] = [:]
        for (field, key) in self.errors { errors[field] = locale.text(key) }
        return [
            "values": self.typed, "errors": errors, "has_errors": !errors.isEmpty, "programmes": programmes,
            "areas": areas, "from_default": self.from.rfc3339.prefix(10).description,
            "to_default": self.to.rfc3339.prefix(10).description,
        ]
    }
}
