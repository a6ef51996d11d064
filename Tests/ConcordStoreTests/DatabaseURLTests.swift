import ConcordStore
import Testing

/// `DATABASE_URL` as libpq takes it, and a one-line answer naming the part at fault.
@Suite struct DatabaseURLTests {
    @Test func severalHostsTheirPortsAndTheTarget() throws {
        let url = try DatabaseURL.parse(
            "postgres://concord:s%40cret@db1:5432,db2:5433,[::1]:5434/concord?target_session_attrs=read-write")
        #expect(
            url.endpoints == [
                .tcp(host: "db1", port: 5432), .tcp(host: "db2", port: 5433), .tcp(host: "::1", port: 5434),
            ])
        #expect(url.user == "concord" && url.password == "s@cret" && url.database == "concord")
        #expect(url.target == .readWrite && url.sslMode == .prefer)
        let query = try DatabaseURL.parse("postgresql:///concord?host=h1,h2&port=5432,6432&user=u&sslmode=require")
        #expect(query.endpoints == [.tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 6432)])
        #expect(query.user == "u" && query.sslMode == .require && query.target == .any)
        let socket = try DatabaseURL.parse("postgres:///concord?host=/run/postgresql")
        #expect(socket.endpoints == [.socket(path: "/run/postgresql/.s.PGSQL.5432")])
        let loopback = try DatabaseURL.parse("postgres://u@127.0.0.1:5432,localhost:5433/db")
        #expect(loopback.sslMode == .disable && loopback.endpoints.count == 2)
    }

    @Test(arguments: [
        ("mysql://u@h/db", "DATABASE_URL: must look like postgres://"),
        ("postgres://u@h1:5432,h2:54x2/db", "DATABASE_URL: host 2 (h2) has port 54x2, not a number from 1 to 65535"),
        ("postgres://u@h1,,h3/db", "DATABASE_URL: host 2 is empty"),
        ("postgres://u@[::1/db", "DATABASE_URL: host 1 ([::1) lacks its ]"),
        ("postgres://u@h1:1:2/db", "DATABASE_URL: host 1 (h1:1:2) is malformed"),
        ("postgres://u@h/db?sslmode=maybe", "DATABASE_URL: sslmode maybe is not one of disable, prefer, require"),
        (
            "postgres://u@h/db?target_session_attrs=writable",
            "DATABASE_URL: target_session_attrs writable is not one of"
        ),
    ])
    func aMistakeIsNamed(text: String, message: String) {
        #expect {
            _ = try DatabaseURL.parse(text)
        } throws: { error in
            "\(error)".hasPrefix(message) && !"\(error)".contains("\n")
        }
    }

    @Test func theLogNeedsThePrimary() {
        #expect {
            _ = try DatabaseSettings.configuration(fromURL: "postgres://u@h1,h2/db?target_session_attrs=standby")
        } throws: { error in
            "\(error)" == "DATABASE_URL: target_session_attrs standby cannot append to the log; use read-write"
        }
    }

    @Test func oneHostConnectsDirectlyAsBefore() throws {
        let configuration = try DatabaseSettings.configuration(fromURL: "postgres://u:p@db.example.org:6543/concord")
        #expect(configuration.host == "db.example.org" && configuration.port == 6543)
        #expect(configuration.username == "u" && configuration.password == "p" && configuration.database == "concord")
        let socket = try DatabaseSettings.configuration(fromURL: "postgres:///concord?host=/tmp/pg&port=5433")
        #expect(socket.unixSocketPath == "/tmp/pg/.s.PGSQL.5433")
    }

    @Test func theReadURLIsOptionalTakesAStandbyAndNamesItsMistakes() throws {
        #expect(try DatabaseSettings.readConfiguration(fromEnvironment: [:]) == nil)
        #expect(try DatabaseSettings.readConfiguration(fromEnvironment: ["DATABASE_READ_URL": ""]) == nil)
        let read = try #require(
            try DatabaseSettings.readConfiguration(fromEnvironment: [
                "DATABASE_READ_URL": "postgres://r@standby.example.org:5433/concord?target_session_attrs=standby"
            ]))
        #expect(read.host == "standby.example.org" && read.port == 5433 && read.username == "r")
        #expect {
            _ = try DatabaseSettings.readConfiguration(fromEnvironment: [
                "DATABASE_READ_URL": "postgres://r@h1,h2/db?target_session_attrs=replica"
            ])
        } throws: { error in
            "\(error)".hasPrefix("DATABASE_READ_URL: target_session_attrs replica is not one of")
        }
    }
}
