import Foundation
import PackagePlugin

/// Embeds files of the package into a target as a generated Swift file, so a deployed binary needs no checkout:
/// every `sql/NNNN_name.sql` into ConcordStore (`EmbeddedMigrations`), `docs/openapi.yaml` into ConcordHTTP
/// (`EmbeddedDocuments`), `web/templates/*.mustache`, `web/locales/*.json` and `web/static/*` into ConcordWeb
/// (`EmbeddedWeb`).
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let root = context.package.directoryURL
        let (name, files): (String, [URL])
        switch target.name {
        case "ConcordHTTP":
            name = "EmbeddedDocuments"
            files = [root.appending(path: "docs/openapi.yaml")]
        case "ConcordWeb":
            name = "EmbeddedWeb"
            files = try ["templates", "locales", "static"].flatMap { folder in
                try FileManager.default.contentsOfDirectory(
                    at: root.appending(path: "web/\(folder)"), includingPropertiesForKeys: nil
                ).filter { !$0.lastPathComponent.hasPrefix(".") }
            }
        default:
            name = "EmbeddedMigrations"
            let directory = root.appending(path: "sql")
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "\(name).swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) files as \(name)",
                executable: try context.tool(named: "EmbedSQL").url,
                arguments: [output.path, name] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output])
        ]
    }
}
