import Foundation
import TestSupport
import Testing

/// Issue 18 item 4: on the listener's machine, `mimicctl worker restart shop` takes the admin token
/// from a readable listener.yaml that holds it in plain form; a digest-only config makes it say a
/// token is needed, and an explicit `--token` still wins.
extension ListenerCommandsTests {
    @Test func workerRestartTakesThePlainAdminTokenOfListenerYaml() throws {
        let before = try #require(try workerPIDFromDoor())
        let restarted = try Ctl.run(["worker", "restart", "shop", "--config", config])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let after = try #require(try workerPIDFromDoor())
        #expect(after != before)

        // An explicit token wins over the file's: the waf token is refused.
        let explicit = try Ctl.run(["worker", "restart", "shop", "--config", config, "--token", Self.wafToken])
        #expect(explicit.status == 1)
        #expect(explicit.stderr.contains("403"), "\(explicit.stderr)")
        #expect(try workerPIDFromDoor() == after)

        // The same fleet described with the admin token's digest only.
        let digest = try #require(
            try ChildProcess.run(executable: "/usr/bin/sha256sum", arguments: [], stdin: Self.opsToken)
                .split(separator: " ").first.map(String.init))
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "token: \"\(Self.opsToken)\"", with: "token_sha256: \"\(digest)\"")
        let digestOnly = directory.appendingPathComponent("digest-only.yaml").path
        try text.write(toFile: digestOnly, atomically: true, encoding: .utf8)
        let refused = try Ctl.run(["worker", "restart", "shop", "--config", digestOnly])
        #expect(refused.status == 2)
        #expect(
            refused.stderr.contains("needs a token") && refused.stderr.contains("ops")
                && refused.stderr.contains("token_sha256"), "\(refused.stderr)")
        #expect(try workerPIDFromDoor() == after)
    }

    private func workerPIDFromDoor() throws -> Int? {
        let apps = try Ctl.run(["status", "--admin", adminURL, "--json"]).json()["apps"] as? [[String: Any]]
        return ((apps?.first?["worker"] as? [String: Any])?["pid"] as? NSNumber)?.intValue
    }
}
