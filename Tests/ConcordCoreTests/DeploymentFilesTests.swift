import Foundation
import Testing
import Yams

/// The deployment files in deploy/ parse, and name what docs/operations.md (High availability) says they do: the
/// probe paths and port, the secrets, the synchronous settings, HAProxy's health check on Patroni's API.
@Suite struct DeploymentFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
    }

    static func yaml(_ path: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: Self.text(path)).map { try #require($0 as? [String: Any], "\(path): a mapping") }
    }

    @Test func theKubernetesDeploymentProbesServesAndTakesItsKeyFromTheSecret() throws {
        let documents = try Self.yaml("deploy/kubernetes/concord.yaml")
        let deployment = try #require(documents.first { $0["kind"] as? String == "Deployment" })
        let service = try #require(documents.first { $0["kind"] as? String == "Service" })
        let pod = try #require((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])
        let podSpec = try #require(pod["spec"] as? [String: Any])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        let port = try #require((container["ports"] as? [[String: Any]])?.first)
        #expect(port["containerPort"] as? Int == 8080 && port["name"] as? String == "http")
        #expect((container["args"] as? [String])?.contains("8080") == true)
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = try #require((container[probe] as? [String: Any])?["httpGet"] as? [String: Any], "\(probe)")
            #expect(get["path"] as? String == path && get["port"] as? String == "http", "\(probe)")
        }
        let environment = try #require(container["env"] as? [[String: Any]])
        func variable(_ name: String) -> [String: Any]? { environment.first { $0["name"] as? String == name } }
        let keyFile = try #require(variable("CONCORD_MASTER_KEY_FILE")?["value"] as? String)
        let mount = try #require((container["volumeMounts"] as? [[String: Any]])?.first)
        #expect(keyFile == (mount["mountPath"] as? String ?? "") + "/master.key")
        let volume = try #require(
            (podSpec["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        #expect((volume["secret"] as? [String: Any])?["secretName"] as? String == "concord-master-key")
        let user = try #require(
            (variable("DB_USER")?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])
        #expect(user["name"] as? String == "concord-db-app")
        #expect((variable("DATABASE_URL")?["value"] as? String)?.contains("@concord-db-rw:5432/concord") == true)
        let servicePort = try #require(((service["spec"] as? [String: Any])?["ports"] as? [[String: Any]])?.first)
        #expect(servicePort["targetPort"] as? String == "http")
        let selector = (service["spec"] as? [String: Any])?["selector"] as? [String: String]
        #expect(selector == (pod["metadata"] as? [String: Any])?["labels"] as? [String: String])
    }

    @Test func theCloudNativePGClusterIsSynchronousAndNamedAsTheDeploymentExpects() throws {
        let cluster = try #require(try Self.yaml("deploy/kubernetes/postgres-cluster.yaml").first)
        #expect(cluster["kind"] as? String == "Cluster")
        // CloudNativePG names the owner's secret `<cluster>-app` and the primary's service `<cluster>-rw`.
        #expect((cluster["metadata"] as? [String: Any])?["name"] as? String == "concord-db")
        let spec = try #require(cluster["spec"] as? [String: Any])
        let synchronous = try #require((spec["postgresql"] as? [String: Any])?["synchronous"] as? [String: Any])
        #expect(synchronous["dataDurability"] as? String == "required")
        #expect((synchronous["number"] as? Int ?? 0) >= 1)
        #expect(["any", "first"].contains(synchronous["method"] as? String ?? ""))
        let initdb = (spec["bootstrap"] as? [String: Any])?["initdb"] as? [String: Any]
        #expect(initdb?["database"] as? String == "concord" && initdb?["owner"] as? String == "concord")
    }

    @Test func patroniIsStrictlySynchronousAndHAProxyAsksItsAPIForThePrimary() throws {
        let patroni = try #require(try Self.yaml("deploy/patroni/patroni.yml").first)
        let dcs = try #require((patroni["bootstrap"] as? [String: Any])?["dcs"] as? [String: Any])
        #expect(dcs["synchronous_mode"] as? Bool == true && dcs["synchronous_mode_strict"] as? Bool == true)
        let parameters = ((dcs["postgresql"] as? [String: Any])?["parameters"] as? [String: Any]) ?? [:]
        #expect(parameters["synchronous_commit"] as? String == "on")
        #expect(((patroni["etcd3"] as? [String: Any])?["hosts"] as? [String])?.count == 3)
        let api = try #require((patroni["restapi"] as? [String: Any])?["listen"] as? String)
        let apiPort = try #require(api.split(separator: ":").last.map(String.init))
        let postgres = try #require((patroni["postgresql"] as? [String: Any])?["listen"] as? String)
        #expect(postgres.hasSuffix(":5432"))

        let haproxy = try Self.text("deploy/patroni/haproxy.cfg")
        let primary = try #require(haproxy.components(separatedBy: "\nlisten ").first { $0.hasPrefix("primary") })
        #expect(primary.contains("bind *:5000"))
        #expect(primary.contains("option httpchk OPTIONS /primary"))
        #expect(primary.contains("http-check expect status 200"))
        #expect(primary.contains("on-marked-down shutdown-sessions"))
        let servers = primary.split(separator: "\n").filter {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("server ")
        }
        #expect(servers.count == 3)
        #expect(servers.allSatisfy { $0.contains(":5432") && $0.contains("check port \(apiPort)") })
    }

    @Test func theContainerBuildsWithSwiftAndRunsTheBinaryAlone() throws {
        let file = try Self.text("deploy/Containerfile")
        let stages = file.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.contains("swift:") == true && stages.first?.contains("AS build") == true)
        #expect(file.contains("swift build -c release --product concord"))
        #expect(file.contains("COPY --from=build /concord /usr/local/bin/concord"))
        #expect(file.contains("EXPOSE 8080"))
        #expect(file.contains("ENTRYPOINT [\"/usr/local/bin/concord\"]"))
        #expect(!file.contains("Package.resolved"), "Package.resolved stays out of git")
        for directory in ["Sources", "Plugins", "sql", "web", "docs"] { #expect(file.contains("COPY \(directory) ")) }
    }

    @Test func theOperationsGuideNamesWhatTheFilesHold() throws {
        let guide = try Self.text("docs/operations.md")
        for name in [
            "deploy/patroni/", "patroni.yml", "haproxy.cfg", "deploy/kubernetes/postgres-cluster.yaml",
            "deploy/kubernetes/concord.yaml", "deploy/Containerfile", "concord-master-key", "concord-db-app",
            "concord-db-rw", "`/readyz`", "`/healthz`", "port 8080", "`synchronous_mode: true`",
            "`synchronous_mode_strict: true`", "`dataDurability: required`", "`/primary`", "port 5000", "(port 8008)",
            "synchronous_standby_names", "restore_command", "recovery_target_time", "archive_command",
        ] {
            #expect(guide.contains(name), "docs/operations.md names \(name)")
        }
    }
}
