import Foundation
import Shared
import TestSupport
import Testing

/// Issue 18 item 4: the listener keeps each supervised worker's stderr per app and serves it on the
/// admin door; `mimicctl logs` prints and follows it, read-gated like every other read.
@Suite(.serialized, .startsProcesses) struct WorkerLogTests {
    static let blogViewerToken = "blog-viewer-token-0123456789"

    private func mimicctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.runCapturing(executable: try BuiltProducts.path("mimicctl"), arguments: arguments)
    }

    /// The worker's own start line, as it writes it on stderr.
    private static func startLine(pid: Int) -> (String) -> Bool {
        { $0.contains("\"message\":\"listening\"") && $0.contains("\"pid\":\"\(pid)\"") }
    }

    @Test func eachWorkersStderrIsKeptPerAppAndServedToItsReadersOnly() throws {
        let fixture = try ListenerFixture(
            apps: ["shop", "blog"], adminHost: "0.0.0.0",
            extraTokens: "  - { name: blog-viewer, token: \"\(Self.blogViewerToken)\", sources: [read], apps: [blog] }")
        try fixture.start(apps: ["shop", "blog"])
        let shopPID = try #require(try fixture.workerPID("shop"))
        let blogPID = try #require(try fixture.workerPID("blog"))

        // This door is not on loopback: mimicctl reads with the admin token of listener.yaml.
        var shown = ""
        #expect(
            try eventually(timeout: 15, interval: 0.2) {
                let result = try mimicctl(["logs", "shop", "--config", fixture.configPath, "--lines", "1000"])
                shown = result.stdout + result.stderr
                return result.status == 0
                    && result.stdout.split(separator: "\n").map(String.init)
                        .contains(where: Self.startLine(pid: shopPID))
            }, "\(shown)")
        #expect(
            !shown.split(separator: "\n").map(String.init).contains(where: Self.startLine(pid: blogPID)),
            "blog's worker lines are not in shop's log")
        let file = fixture.journalDir + "/logs/shop.log"
        #expect(FileManager.default.fileExists(atPath: file))

        let page = try fixture.http("GET", "/v1/apps/blog/log?lines=1000", token: Self.blogViewerToken)
        #expect(page.status == 200)
        #expect((page.json["lines"] as? [String] ?? []).contains(where: Self.startLine(pid: blogPID)))
        #expect(try fixture.http("GET", "/v1/apps/shop/log?lines=10", token: Self.blogViewerToken).status == 403)
        #expect(try fixture.http("GET", "/v1/apps/shop/log?lines=10", token: nil).status == 401)
        #expect(try fixture.http("GET", "/v1/apps/nosuch/log").status == 404)
        #expect(try fixture.http("GET", "/v1/apps/shop/log?lines=0").status == 400)

        // --follow prints the lines of the next worker as they come.
        let followed = fixture.directory.appendingPathComponent("follow.out").path
        let follower = try ChildProcess.spawn(
            executable: try BuiltProducts.path("mimicctl"),
            arguments: ["logs", "shop", "--follow", "--lines", "1", "--config", fixture.configPath], logFile: followed)
        defer { ChildProcess.kill(follower) }
        let restart = try mimicctl(["worker", "restart", "shop", "--config", fixture.configPath])
        #expect(restart.status == 0, "\(restart.stderr)")
        let newPID = try #require(try fixture.workerPID("shop"))
        #expect(newPID != shopPID)
        #expect(
            eventually(timeout: 15, interval: 0.2) {
                let text = (try? String(contentsOfFile: followed, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").map(String.init).contains(where: Self.startLine(pid: newPID))
            }, "\((try? String(contentsOfFile: followed, encoding: .utf8)) ?? "")")
    }
}
