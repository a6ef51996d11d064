import ConcordCore
import ConcordWeb
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// A submitted `application/x-www-form-urlencoded` form.
struct WebForm: Sendable {
    var values: [String: String]

    static func read(_ request: Request) async throws -> WebForm {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: RequestBody.limit)
        } catch {
            throw Problem(status: .contentTooLarge, title: "Body too large", detail: "the form is too large")
        }
        return WebForm(encoded: String(buffer: buffer))
    }

    init(encoded: String) {
        var values: [String: String] = [:]
        for pair in encoded.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first else { continue }
            values[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        self.values = values
    }

    /// The trimmed value, nil when missing or blank (a blank optional field is not sent to the command).
    subscript(_ name: String) -> String? {
        guard let value = self.values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }
}

/// CSRF tokens. Signed in: a digest of the session secret, so a token is good for one session only and another
/// site cannot know it. Before sign-in: a random cookie that the form must repeat (double submit).
enum CSRF {
    static let field = "csrf"
    static let cookie = "concord_csrf"

    static func token(session secret: String) -> String {
        Array(SHA256.hash(data: Array("concord-csrf\u{0}\(secret)".utf8))).map { String(format: "%02x", $0) }
            .joined()
    }

    static func fresh() -> String {
        var random = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", random.next() as UInt64) }.joined()
    }

    /// Constant-time comparison: the time taken says nothing about how much of a guess was right.
    static func matches(_ given: String?, _ expected: String?) -> Bool {
        guard let given, let expected, !expected.isEmpty else { return false }
        let (a, b) = (Array(given.utf8), Array(expected.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The answers of the pages: HTML with the security headers, redirects after a POST.
enum WebResponse {
    /// No script at all, styles only from Concord, forms only to Concord, never framed.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'"

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentSecurityPolicy] = self.contentSecurityPolicy
        response.headers[.cacheControl] = "no-store"
        if let referrer = HTTPField.Name("Referrer-Policy") { response.headers[referrer] = "same-origin" }
        return response
    }

    /// 303: after a POST, the browser GETs the result (a reload does not send the form again).
    static func seeOther(_ location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        return response
    }
}
