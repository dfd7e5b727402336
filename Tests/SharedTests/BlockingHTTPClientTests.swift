import Foundation
import Shared
import TestSupport
import Testing

/// The AsyncHTTPClient wrapper against a real server (python3's http.server on a free loopback
/// port) and against ports that refuse or never answer.
@Suite("Blocking HTTP client", .serialized, .startsProcesses)
struct BlockingHTTPClientTests {
    @Test func answersOfARealServerComeBackWhateverTheirStatus() throws {
        let directory = try TempDirectory.make(prefix: "http-client")
        defer { try? FileManager.default.removeItem(at: directory) }
        try #"{"apps":[]}"#.write(toFile: directory.path + "/apps.json", atomically: true, encoding: .utf8)
        let port = try FreePort.take()
        let pid = try ChildProcess.spawn(
            executable: "/usr/bin/python3",
            arguments: [
                "-m", "http.server", String(port), "--bind", "127.0.0.1",
                "--directory", directory.path,
            ])
        defer {
            ChildProcess.signal(pid, SIGKILL)
            ChildProcess.waitForExit(pid)
        }
        #expect(eventually(timeout: 10) { PosixSocket.accepts(PosixSocket.loopback(port: port)) })

        let client = BlockingHTTPClient(timeout: 5)
        let found = try client.request(
            "GET", "http://127.0.0.1:\(port)/apps.json", headers: [("Accept", "application/json")])
        #expect(found.status == 200)
        #expect(found.object?["apps"] as? [Any] != nil)

        let missing = try client.request("GET", "http://127.0.0.1:\(port)/nothing-here")
        #expect(missing.status == 404)

        // http.server has no POST: the body goes out and the refusal comes back as an answer.
        let posted = try client.request("POST", "http://127.0.0.1:\(port)/apps.json", body: Array("{}".utf8))
        #expect(posted.status == 501)
    }

    @Test func aRefusedConnectionFailsAtOnceNamingHostAndPort() throws {
        let port = try PosixSocket.freeLoopbackPort()
        let started = ContinuousClock.now
        #expect {
            try BlockingHTTPClient(timeout: 10).request("GET", "http://127.0.0.1:\(port)/v1/apps")
        } throws: { error in
            let failure = error as? SocketFailure
            return failure?.kind == .refused && failure?.operation == "connect" && failure?.peer == "127.0.0.1:\(port)"
        }
        #expect(ContinuousClock.now - started < .seconds(3), "not retried until the deadline")
    }

    @Test func aServerThatNeverAnswersRunsIntoTheTimeout() throws {
        // Bound and listening, never accepting: the kernel completes the handshake, nobody answers.
        let port = try PosixSocket.freeLoopbackPort()
        let fd = try PosixSocket.bind(to: PosixSocket.loopback(port: port))
        defer { close(fd) }
        #expect(listen(fd, 4) == 0)
        let started = ContinuousClock.now
        #expect {
            try BlockingHTTPClient(timeout: 0.5).request("GET", "http://127.0.0.1:\(port)/")
        } throws: { ($0 as? SocketFailure)?.kind == .timedOut }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
