import ConcordCore
import ConcordStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO

/// Users and sessions for the HTTP suites. bcrypt runs at its lowest cost here: the tests are about behaviour.
public enum Users {
    public static let bcryptCost: UInt8 = 4
    public static let password = "correct horse battery"

    /// Creates a user as the owner would (`concord user create`), with the demo reference data's codes.
    @discardableResult
    public static func create(
        _ settings: DatabaseSettings, login: String, role: Role, scope: String?, focalPoint: Bool = false,
        name: String? = nil, password: String = Users.password, cost: UInt8 = Users.bcryptCost
    ) async throws -> User {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let reference = ReferenceData()
            try await reference.load(from: EventStore(client: client, logger: TestDatabases.logger))
            return try await UserStore(client: client, logger: TestDatabases.logger, bcryptCost: cost)
                .create(
                    login: login, name: name ?? "Test user \(login)", role: role, scope: scope, focalPoint: focalPoint,
                    password: password, catalog: reference.catalog)
        }
    }
}

extension TestClientProtocol {
    /// Signs in; the session secret of a 201, or nil (the answer is then in `answer`).
    public func signIn(
        _ login: String, _ password: String = Users.password
    ) async throws -> (
        secret: String?, answer: Answer
    ) {
        let body = String(
            decoding: CanonicalJSON.encode(["login": .string(login), "password": .string(password)]), as: UTF8.self)
        let answer = try await self.send(.post, "/v1/sessions", token: nil, body: body)
        return (answer.status == .created ? answer["token"]?.stringValue : nil, answer)
    }

    /// A request authenticated by a session cookie rather than a bearer.
    public func send(
        _ method: HTTPRequest.Method, _ uri: String, cookie: String, body: String? = nil
    ) async throws -> Answer {
        var headers = HTTPFields()
        headers[.cookie] = "concord_session=\(cookie)"
        return try await self.send(method, uri, token: nil, body: body, headers: headers)
    }
}
