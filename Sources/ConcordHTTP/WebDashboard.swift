import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// `/dashboard`: the M&E indicators of `GET /v1/indicators` (the same computation, the same scope: every role,
/// counting only the cases its lists show) as charts drawn on the server, each with its figures in a table and a
/// link to the API's CSV of the same query.
struct WebDashboard: Sendable {
    let web: WebController

    /// One chart: the grouping the API is asked for and how the bars are laid out.
    struct Chart {
        var id: String
        var groupBy: String
        var series: IndicatorSeries = .period
        var shape: WebChart.Shape = .rows

        var grouping: IndicatorGrouping { IndicatorGrouping(groupBy: self.groupBy, level: nil) ?? .total }
        /// The API's query string for the same figures.
        var query: String { "group_by=\(self.groupBy)" + (self.series == .month ? "&by=month" : "") }
    }

    static let charts = [
        Chart(id: "programme", groupBy: "programme"),
        Chart(id: "area", groupBy: "area"),
        Chart(id: "month", groupBy: "total", series: .month, shape: .columns),
        Chart(id: "sex", groupBy: "sex"),
        Chart(id: "age_group", groupBy: "age_group"),
        Chart(id: "disability", groupBy: "disability"),
    ]

    /// The figures of the headline list, and those of each chart's table (the bars show the first).
    static let headline = [
        "cases_opened", "complaints_lodged", "appeals_lodged", "referrals_sent", "referral_success_rate",
        "loops_closed",
        "loop_closure_rate",
        "share_resolved_within_service_level", "median_days_to_resolution", "open_now", "overdue_now",
    ]
    static let tableColumns = ["cases_opened", "loops_closed", "loop_closure_rate", "open_now", "overdue_now"]

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("dashboard") { request, context in
            try await self.web.serve(.dashboard, request, context) { visit, principal in
                try await self.page(request, visit, principal)
            }
        }
    }

    func page(_ request: Request, _ visit: WebController.Visit, _ principal: Principal) async throws -> Response {
        try await self.web.referenceReady()
        let catalog = self.web.reference.data.catalog
        let now = self.web.clock.now()
        let form = DashboardFilters(request, catalog: catalog, now: now)
        guard form.errors.isEmpty else {
            return self.render(visit, form: form, figures: nil, status: .badRequest)
        }
        let (queries, scope, filter) = (
            self.web.queries, CaseScope(readableBy: principal, catalog: catalog), form.filter
        )
        let (from, to) = (form.from, form.to)
        let results = try await Problem.mapping {
            try await withDatabaseDeadline(.seconds(30)) { () async throws -> [String: Indicators] in
                var results: [String: Indicators] = [:]
                for chart in Self.charts + [Chart(id: "total", groupBy: "total")] {
                    results[chart.id] = try await Indicators.compute(
                        client: queries.client, scope: scope, filter: filter, grouping: chart.grouping,
                        series: chart.series, from: from, to: to, now: now, logger: queries.logger)
                }
                return results
            }
        }
        return self.render(visit, form: form, figures: results, status: .ok)
    }

    func render(
        _ visit: WebController.Visit, form: DashboardFilters, figures: [String: Indicators]?,
        status: HTTPResponse.Status
    ) -> Response {
        let locale = visit.locale
        let catalog = self.web.reference.data.catalog
        var data: [String: Any] = form.view(catalog: catalog, locale: locale)
        if let figures {
            let total = figures["total"]?.rows.first ?? [:]
            data["headline"] = Self.headline.map { name in
                [
                    "label": locale.text("dash.figure.\(name)"), "value": Self.text(total[name], locale, name: name),
                    "name": name,
                ]
            }
            data["charts"] = Self.charts.map { chart in
                self.chartView(chart, figures[chart.id]?.rows ?? [], form: form, locale: locale)
            }
            data["has_figures"] = true
            data["as_of"] = locale.format(form.now)
            data["period"] = "\(locale.day(form.from)) – \(locale.day(form.to))"
        }
        return self.web.render("dashboard", title: "dash.title", visit, data, status: status)
    }

    func chartView(
        _ chart: Chart, _ indicatorRows: [[String: Indicators.Value]], form: DashboardFilters, locale: WebLocale
    ) -> [String: Any] {
        let catalog = self.web.reference.data.catalog
        let rows: [(label: String, key: String, row: [String: Indicators.Value])] = indicatorRows.map { row in
            let key = chart.series == .month ? Self.plain(row["month"]) : Self.plain(row["group"])
            let label = chart.series == .month ? locale.month(key) : Self.label(key, chart: chart, catalog, locale)
            return (label, key, row)
        }
        let title = locale.text("dash.chart.\(chart.id)")
        let bars = rows.map { entry in
            WebChart.Bar(
                label: entry.label, value: Self.number(entry.row["cases_opened"]),
                text: Self.text(entry.row["cases_opened"], locale))
        }
        let description =
            locale.text("dash.chart.desc") + " "
            + bars.map { "\($0.label): \($0.text)" }.joined(separator: "; ")
        let svg = WebChart(
            id: "chart-\(chart.id)", title: title, description: description, bars: bars, shape: chart.shape)
        return [
            "id": chart.id, "title": title, "svg": svg.svg, "empty": rows.isEmpty,
            "csv": "/v1/indicators?\(chart.query)&format=csv\(form.apiQuery)",
            "columns": Self.tableColumns.map { ["label": locale.text("dash.figure.\($0)")] },
            "rows": rows.map { entry in
                [
                    "label": entry.label, "key": entry.key,
                    "cells": Self.tableColumns.map { name in
                        [
                            "id": "\(chart.id)-\(entry.key)-\(name)",
                            "value": Self.text(entry.row[name], locale, name: name),
                        ]
                    },
                ] as [String: Any]
            },
        ]
    }

    /// A group's name as people say it: the programme's or the area's name, a word for a recorded attribute.
    static func label(_ key: String, chart: Chart, _ catalog: ReferenceCatalog, _ locale: WebLocale) -> String {
        switch chart.id {
        case "programme":
            return catalog.programme(key)?.name ?? catalog.serviceType(key)?.name ?? Self.word(key, locale)
        case "area": return catalog.area(key)?.name ?? Self.word(key, locale)
        default: return Self.word(key, locale)
        }
    }

    static func word(_ key: String, _ locale: WebLocale) -> String {
        locale.strings["dash.group.\(key)"] ?? key.replacingOccurrences(of: "_", with: " ")
    }

    static func plain(_ value: Indicators.Value?) -> String {
        guard case .text(let text)? = value else { return "" }
        return text
    }

    static func number(_ value: Indicators.Value?) -> Double {
        switch value {
        case .count(let count)?: Double(count)
        case .decimal(let decimal)?: decimal ?? 0
        default: 0
        }
    }

    /// A figure as the language writes it; shares as percentages; "–" where there was nothing to measure.
    static func text(_ value: Indicators.Value?, _ locale: WebLocale, name: String = "") -> String {
        switch value {
        case .count(let count)?: return locale.number(count)
        case .decimal(let decimal?)? where name.contains("rate") || name.contains("share"):
            return locale.percent(decimal)
        case .decimal(let decimal?)?: return locale.number(decimal)
        case .text(let text)?: return text
        case .decimal(nil)?, nil: return "–"
        }
    }
}
