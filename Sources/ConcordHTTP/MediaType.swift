import Foundation

/// A media type as a Content-Type header gives it (RFC 9110 section 8.3.1): `type/subtype; name=value; ...`.
struct MediaType {
    var type: String
    var subtype: String
    var parameters: [String: String]

    /// Nil when the text is not a media type.
    init?(_ text: String) {
        var parts = text.split(separator: ";", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let essence = parts.removeFirst().lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard essence.count == 2, essence.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isTokenCharacter) }) else {
            return nil
        }
        (self.type, self.subtype) = (String(essence[0]), String(essence[1]))
        self.parameters = [:]
        for parameter in parts where !parameter.isEmpty {
            let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[0].isEmpty, pair[0].allSatisfy(Self.isTokenCharacter) else { return nil }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            self.parameters[pair[0].lowercased()] = value
        }
    }

    /// `application/json` or `application/<anything>+json`, in UTF-8 (JSON's only encoding, RFC 8259).
    var isJSON: Bool {
        guard self.type == "application", self.subtype == "json" || self.subtype.hasSuffix("+json"),
            self.subtype != "+json"
        else { return false }
        return self.parameters["charset"].map { $0.lowercased() == "utf-8" } ?? true
    }

    static func isTokenCharacter(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue, ascii > 32, ascii < 127 else { return false }
        return !"()<>@,;:\\\"/[]?={}".contains(character)
    }
}
