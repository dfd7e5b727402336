import Foundation
import Shared
import TestSupport
import Testing

/// Issue 13 finding 4: TLS on the HTTP and TCP ingress and the admin door (`tls:` in
/// listener.yaml), client certificates when `client_ca` is set, exercised with real TLS
/// clients: curl, `openssl s_client` and mimicctl.
@Suite(.serialized, .startsProcesses) struct TLSDoorTests {
    /// A private CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl.
    struct Certificates {
        let directory: URL
        var ca: String { directory.appendingPathComponent("ca.pem").path }
        var serverCert: String { directory.appendingPathComponent("server.pem").path }
        var serverKey: String { directory.appendingPathComponent("server.key").path }
        var clientCert: String { directory.appendingPathComponent("client.pem").path }
        var clientKey: String { directory.appendingPathComponent("client.key").path }
        var otherKey: String { directory.appendingPathComponent("other.key").path }

        init() throws {
            directory = try TempDirectory.make(prefix: "mimic-tls")
            let dir = directory.path
            let script = """
                set -e
                cd '\(dir)'
                openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mimic-test-ca -keyout ca.key -out ca.pem 2>/dev/null
                printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
                openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
                openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
                openssl req -newkey rsa:2048 -nodes -subj /CN=waf-1 -keyout client.key -out client.csr 2>/dev/null
                openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem 2>/dev/null
                openssl genrsa -out other.key 2048 2>/dev/null
                """
            let made = try ChildProcess.runCapturing(executable: "/bin/sh", arguments: ["-c", script])
            guard made.status == 0 else { throw TestSupportError("openssl: \(made.stderr)") }
        }

        func block(clientCA: Bool = false) -> String {
            "{ cert: \"\(serverCert)\", key: \"\(serverKey)\"\(clientCA ? ", client_ca: \"\(ca)\"" : "") }"
        }
    }

    func curl(_ arguments: [String]) throws -> (status: Int32, code: String, stderr: String) {
        let result = try ChildProcess.runCapturing(
            executable: "/usr/bin/curl",
            arguments: ["-s", "-S", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}"] + arguments)
        return (result.status, result.stdout, result.stderr)
    }

    @Test func everyDoorServesTLSToRealClients() throws {
        let certs = try Certificates()
        defer { try? FileManager.default.removeItem(at: certs.directory) }
        // Ingress HTTP requires a client certificate; TCP and admin only encrypt.
        let fixture = try ListenerFixture(
            apps: ["shop"],
            tls: ["http": certs.block(clientCA: true), "tcp": certs.block(), "admin": certs.block()], caFile: certs.ca)
        try fixture.start(apps: ["shop"])
        let events = "https://127.0.0.1:\(fixture.httpPort)/v1/events"
        let post = [
            "-X", "POST", "-H", "Authorization: Bearer \(ListenerFixture.adminToken)", "-H",
            "Content-Type: application/json", "--data-binary", Messages.health("shop", id: "t1"),
        ]
        // With the client certificate the sender is heard; without it the handshake fails.
        let withCert = try curl(
            post + ["--cacert", certs.ca, "--cert", certs.clientCert, "--key", certs.clientKey, events])
        #expect(withCert.code == "202", "\(withCert.stderr)")
        let withoutCert = try curl(post + ["--cacert", certs.ca, events])
        #expect(withoutCert.status != 0 && withoutCert.code == "000", "no client certificate: \(withoutCert)")
        // Plain HTTP to a TLS door gets no answer; a client that does not trust the CA refuses.
        #expect(try curl(post + ["http://127.0.0.1:\(fixture.httpPort)/v1/events"]).code != "202")
        #expect(try curl(["https://127.0.0.1:\(fixture.adminPort)/v1/apps"]).status == 60, "untrusted certificate")

        // TCP NDJSON through openssl s_client: auth line, envelope, answer.
        let lines = "{\"auth\":\"\(ListenerFixture.adminToken)\"}\n" + Messages.health("shop", id: "t2") + "\n"
        let session = try ChildProcess.runCapturing(
            executable: "/bin/sh",
            arguments: [
                "-c",
                "(cat; sleep 2) | timeout 10 openssl s_client -quiet -no_ign_eof -verify_return_error -CAfile '\(certs.ca)' -connect 127.0.0.1:\(fixture.tcpPort)",
            ], stdin: lines)
        #expect(session.stdout.contains("{\"ok\":\"t2\"}"), "s_client: \(session.stdout) \(session.stderr)")

        // The admin door over TLS: curl (through the fixture) and mimicctl with the private CA.
        #expect(try fixture.http("GET", "/v1/apps").status == 200)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 2 })
        let status = try ChildProcess.runCapturing(
            executable: "/usr/bin/env",
            arguments: [
                "MIMIC_CA_FILE=\(certs.ca)", try BuiltProducts.path("mimicctl"), "status", "--config",
                fixture.configPath,
                "--json",
            ])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(
            status.stdout.contains("\"app\" : \"shop\"") || status.stdout.contains("\"app\":\"shop\""),
            "\(status.stdout)")
        let untrusted = try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimicctl"), arguments: ["status", "--config", fixture.configPath])
        #expect(untrusted.status == 1, "without the CA mimicctl must not trust the door: \(untrusted.stdout)")
    }

    @Test func aKeyThatIsNotTheCertificatesStopsTheListenerAtStart() throws {
        let certs = try Certificates()
        defer { try? FileManager.default.removeItem(at: certs.directory) }
        let fixture = try ListenerFixture(
            apps: ["shop"], tls: ["admin": "{ cert: \"\(certs.serverCert)\", key: \"\(certs.otherKey)\" }"])
        let run = try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimic-listener"), arguments: ["--config", fixture.configPath])
        #expect(run.status == 2)
        #expect(run.stderr.contains("admin.tls:") && run.stderr.contains(certs.otherKey), "\(run.stderr)")
        // A missing file is a config error with its key path.
        let missing = try ListenerFixture(
            apps: ["shop"], tls: ["tcp": "{ cert: /nonexistent.pem, key: /nonexistent.key }"])
        let refused = try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimic-listener"), arguments: ["--config", missing.configPath])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("tcp.tls.cert: cannot read /nonexistent.pem"), "\(refused.stderr)")
    }
}
