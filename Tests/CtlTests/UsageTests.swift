import Foundation
import TestSupport
import Testing

/// Exit codes of DESIGN section 9: 2 with a one-line reason for usage and config errors, 1 with a
/// clear reason when the listener cannot be reached.
@Suite struct UsageTests {
    @Test func usageErrorsExitTwo() throws {
        let cases: [([String], String)] = [
            (["executors"], "Missing expected argument '<app>'"),
            (["events", "Shop!"], "'Shop!' is not a valid app name"),
            (["events", "shop", "--count=-1"], "--count must be 0 or more"),
            (["worker", "reboot", "shop"], "unexpected arguments: 'reboot', 'shop'"),
            (["status", "--admin", "ftp://example.org"], "--admin ftp://example.org: expected http:// or https://"),
            (["send", "--source", "admin"], "give both --source and --type"),
            (
                ["send", "--app", "shop", "--source", "robot", "--type", "rotate", "--token", "t"],
                "--source robot: expected one of left_bracket, right_bracket, waf, firewall, admin"
            ),
            (
                [
                    "send", "--app", "shop", "--source", "admin", "--type", "set_state", "--body",
                    "{\"executor\":\"e1\"}", "--token", "t",
                ],
                "message: body.state: required"
            ),
            (
                ["send", "--app", "shop", "--source", "admin", "--type", "rotate", "--body", "[1]", "--token", "t"],
                "--body: expected a JSON object"
            ),
        ]
        for (arguments, reason) in cases {
            let result = try Ctl.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(reason), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func envelopesFromStdinAreCheckedBeforeSending() throws {
        let port = try FreePort.take()
        let broken = try Ctl.run(
            ["send", "--listener", "http://127.0.0.1:\(port)", "--token", "t"],
            stdin:
                #"[{"id":"a1","app":"shop","source":"admin","type":"rotate","body":{}},{"id":"a2","app":"shop","source":"admin","type":"nap","body":{}}]"#
        )
        #expect(broken.status == 2)
        #expect(broken.stderr.hasPrefix("mimicctl: stdin envelope #1: type:"), "\(broken.stderr)")
        let notJSON = try Ctl.run(
            ["send", "--listener", "http://127.0.0.1:\(port)", "--token", "t"], stdin: "rotate shop")
        #expect(notJSON.status == 2)
        #expect(notJSON.stderr == "mimicctl: stdin: not JSON; expected an envelope object or an array of them\n")
    }

    @Test func aTokenIsRequiredToChangeAnything() throws {
        let dir = try TempDirectory.make(prefix: "ctl-token")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("listener.yaml").path
        // A plain admin token in listener.yaml would be used (OperatorTokenTests); a sender's is not.
        try "tokens:\n  - { name: sender, token: \"waf-token-0123456789\", sources: [waf], apps: [\"*\"] }\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let none = try Ctl.run(["worker", "restart", "shop", "--config", config])
        #expect(none.status == 2)
        #expect(
            none.stderr
                == "mimicctl: worker restart needs a token: pass --token, set MIMIC_TOKEN, or --token-name NAME from listener.yaml, and \(config) has no admin token for app shop\n"
        )
        let unknown = try Ctl.run(["worker", "restart", "shop", "--config", config, "--token-name", "waf"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "mimicctl: --token-name waf: no such token in \(config) (have: sender)\n")
    }

    @Test func unreachableListenerExitsOneWithTheReason() throws {
        let port = try FreePort.take()
        let url = "http://127.0.0.1:\(port)"
        let reason =
            "mimicctl: cannot reach the listener at \(url): connection refused; is mimic-listener running? (check --listener/--admin, or http:/admin: in listener.yaml)\n"
        let status = try Ctl.run(["status", "--admin", url])
        #expect(status.status == 1)
        #expect(status.stderr == reason)
        let restart = try Ctl.run(["worker", "restart", "shop", "--admin", url, "--token", "ops-token-0123456789"])
        #expect(restart.status == 1)
        #expect(restart.stderr == reason)
        let send = try Ctl.run([
            "send", "--listener", url, "--token", "t", "--app", "shop", "--source", "admin", "--type", "pause",
        ])
        #expect(send.status == 1)
        #expect(send.stderr == reason)

        // The address comes from listener.yaml when --admin is not given.
        let dir = try TempDirectory.make(prefix: "ctl-unreachable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("listener.yaml").path
        try "admin: { host: 0.0.0.0, port: \(port) }\n".write(toFile: config, atomically: true, encoding: .utf8)
        let fromConfig = try Ctl.run(["status", "--config", config])
        #expect(fromConfig.status == 1)
        #expect(fromConfig.stderr == reason)
    }
}
