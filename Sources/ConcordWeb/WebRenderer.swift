import Foundation
import Mustache

/// Renders the pages: every embedded `*.mustache` is a template, and a page is its template rendered inside
/// `layout`. Templates escape what they show (`{{name}}`); only `layout` takes the already rendered page whole.
public struct WebRenderer: Sendable {
    let library: MustacheLibrary

    /// Fails when an embedded template does not parse: a build that ships a broken template does not start.
    public init() throws {
        var library = MustacheLibrary()
        for (name, data) in WebAssets.files where name.hasSuffix(".mustache") {
            guard let text = String(data: data, encoding: .utf8) else { continue }
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
    }

    /// The page `template` with `data`, inside the layout, with the locale's strings as `t`.
    public func page(_ template: String, title: String, data: [String: Any], locale: WebLocale) -> String {
        var context = data
        context["t"] = Self.nest(locale.strings)
        context["lang"] = locale.code
        context["is_fr"] = locale.code == "fr"
        context["title"] = title
        let body = self.library.render(context, withTemplate: template) ?? ""
        context["body"] = body
        return self.library.render(context, withTemplate: "layout") ?? body
    }

    /// `{"signin.title": "Sign in"}` as `{"signin": {"title": "Sign in"}}`, which `{{t.signin.title}}` reads.
    static func nest(_ flat: [String: String]) -> [String: Any] {
        var root: [String: Any] = [:]
        func insert(_ path: ArraySlice<Substring>, _ value: String, into node: inout [String: Any]) {
            guard let first = path.first.map(String.init) else { return }
            if path.count == 1 {
                node[first] = value
                return
            }
            var child = node[first] as? [String: Any] ?? [:]
            insert(path.dropFirst(), value, into: &child)
            node[first] = child
        }
        for (key, value) in flat { insert(key.split(separator: ".")[...], value, into: &root) }
        return root
    }
}
