import Foundation
import Hummingbird

/// `GET /openapi.yaml`: the OpenAPI document of this API, embedded in the binary at build time.
struct DocumentController: Sendable {
    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("openapi.yaml") { _, _ -> Response in
            guard let base64 = EmbeddedDocuments.files.first?.base64, let data = Data(base64Encoded: base64) else {
                throw Problem(status: .notFound, title: "Not found", detail: "this build carries no OpenAPI document")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
    }
}
