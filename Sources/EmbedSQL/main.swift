// Build tool: writes a Swift file that embeds the given files (SQL migrations, the OpenAPI document), so the binary
// needs no checkout. Usage: EmbedSQL OUTPUT.swift ENUM_NAME FILE...
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2, let output = arguments.first, let enumName = arguments.dropFirst().first else {
    FileHandle.standardError.write(Data("usage: EmbedSQL OUTPUT.swift ENUM_NAME FILE...\n".utf8))
    exit(2)
}
var lines = [
    "// Generated at build time by the EmbedMigrations plugin. Do not edit.",
    "enum \(enumName) {",
    "    /// File name and base64 of the file's bytes, in file-name order.",
    "    static let files: [(name: String, base64: String)] = [",
]
for path in arguments.dropFirst(2).sorted() {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("EmbedSQL: cannot read \(path)\n".utf8))
        exit(1)
    }
    let name = URL(fileURLWithPath: path).lastPathComponent
    lines.append("        (\"\(name)\", \"\(data.base64EncodedString())\"),")
}
lines += ["    ]", "}", ""]
do {
    try lines.joined(separator: "\n").write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("EmbedSQL: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
