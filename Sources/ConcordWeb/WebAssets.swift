import Foundation

/// The web workspace's files (`web/templates`, `web/locales`, `web/static`), embedded at build time by the
/// EmbedMigrations plugin so that a deployed binary needs no checkout.
public enum WebAssets {
    /// File name to bytes.
    public static let files: [String: Data] = {
        var out: [String: Data] = [:]
        for file in EmbeddedWeb.files {
            if let data = Data(base64Encoded: file.base64) { out[file.name] = data }
        }
        return out
    }()

    /// The text of a file, or nil when it is not embedded or not UTF-8.
    public static func text(_ name: String) -> String? {
        files[name].flatMap { String(data: $0, encoding: .utf8) }
    }
}
