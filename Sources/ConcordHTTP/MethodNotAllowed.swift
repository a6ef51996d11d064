import Hummingbird

extension Router<ConcordRequestContext> {
    /// The methods a known path may be asked with that it does not serve: 405, not 404.
    static var otherMethods: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete, .options] }

    /// Call once every route is added: each known path answers the methods it lacks with 405 and `Allow` (HEAD is
    /// allowed wherever GET is: the router answers it from the GET handler).
    func answerOtherMethodsWith405() {
        var known: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in self.routes {
            known[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        for (_, entry) in known {
            var allowed = entry.methods
            if allowed.contains(.get) { allowed.insert(.head) }
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            for method in Self.otherMethods where !allowed.contains(method) {
                self.on(entry.path, method: method) { request, _ -> Response in
                    var response = Problem(
                        status: .methodNotAllowed, title: "Method not allowed",
                        detail: "this path answers \(allow), not \(request.method.rawValue)"
                    ).response()
                    response.headers[.allow] = allow
                    return response
                }
            }
        }
    }
}
