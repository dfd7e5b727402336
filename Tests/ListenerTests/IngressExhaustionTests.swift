import Foundation
import Shared
import TestSupport
import Testing

/// Issue 13 finding 2: one token holder must not be able to exhaust the listener that every app's
/// ingress goes through. Real listener and worker processes; the listener's memory is read from
/// /proc, what the other apps get from their acknowledgements.
@Suite(.serialized, .startsProcesses) struct IngressExhaustionTests {
    static func residentBytes(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Authenticates and writes `1\n` lines (each answered with a 400 error line, ~45 times its
    /// size) as fast as the socket takes them, never reading an answer.
    final class Flooder: @unchecked Sendable {
        let socket: RawTCP
        private let lock = NSLock()
        private var sentBytes = 0
        private var cutAt: Date?
        private var stop = false

        init(port: Int, token: String) throws {
            socket = try RawTCP(port: port)
            var small: Int32 = 4096
            setsockopt(socket.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            var wait = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(socket.fd, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            socket.send("{\"auth\":\"\(token)\"}\n")
        }

        func start() {
            Thread.detachNewThread { [self] in
                let chunk = [UInt8](repeating: 0, count: 32 * 1024).enumerated().map {
                    $0.offset % 2 == 0 ? 0x31 : 0x0A
                }
                while !lock.withLock({ stop }) {
                    let written = chunk.withUnsafeBytes {
                        Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                    }
                    if written > 0 {
                        lock.withLock { sentBytes += written }
                    } else if written < 0, errno != EAGAIN, errno != EINTR {
                        lock.withLock { cutAt = Date() }
                        return
                    }
                }
            }
        }

        var sent: Int { lock.withLock { sentBytes } }
        var cut: Date? { lock.withLock { cutAt } }
        func finish() { lock.withLock { stop = true } }
    }

    @Test func aTCPClientThatNeverReadsNeitherGrowsTheListenerNorStopsOtherApps() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let before = Self.residentBytes(fixture.pid)
        let flooder = try Flooder(port: fixture.tcpPort, token: ListenerFixture.wafToken)
        defer { flooder.finish() }
        let started = Date()
        flooder.start()
        var peak = before
        var acknowledged = 0
        let blog = try LineSocket(tcpPort: fixture.tcpPort)
        try blog.sendLines(["{\"auth\":\"\(ListenerFixture.adminToken)\"}"])
        for index in 0..<20 {
            Thread.sleep(forTimeInterval: 1)
            peak = max(peak, Self.residentBytes(fixture.pid))
            try blog.sendLines([Messages.mixed("blog", id: "blog-\(index)", index: index)])
            if blog.readJSON()?["ok"] as? String == "blog-\(index)" { acknowledged += 1 }
        }
        let sentAfter20s = flooder.sent
        Thread.sleep(forTimeInterval: 3)
        #expect(acknowledged == 20, "another app's sender is answered while the flood goes on")
        #expect(
            peak - before < 48 << 20,
            "listener RSS grew by \((peak - before) >> 20) MiB (from \(before >> 20) MiB) while a client did not read")
        #expect(flooder.sent == sentAfter20s, "the listener stopped reading from the client that does not read")
        // Past the write-stall deadline the connection is cut; its answers are not worth holding.
        let cut = eventually(timeout: 25, interval: 0.2) { flooder.cut != nil }
        #expect(cut, "the connection of a client that reads nothing is closed")
        if let at = flooder.cut {
            #expect(at.timeIntervalSince(started) < 45, "cut \(at.timeIntervalSince(started)) s after the flood began")
        }
        #expect(try fixture.http("GET", "/metrics").body.contains("mimic_listener_tcp_cut_total 1\n"))
        print(
            "measured: a client that never reads sent \(sentAfter20s >> 10) KiB of lines; listener RSS \(before >> 20) MiB, "
                + "peak +\((peak - before) >> 20) MiB; cut after "
                + "\(flooder.cut.map { String(format: "%.1f", $0.timeIntervalSince(started)) } ?? "-") s")
        #expect(fixture.terminate())
    }

    /// Eight senders each upload a 40 MiB body at 8 MB/s, all at once: the door holds two of the
    /// largest bodies' worth (128 MiB with the default max_message_bytes), refuses the rest at once
    /// with 503 and Retry-After, and another app's small batch is still accepted meanwhile.
    @Test func concurrentLargeBodiesAreRefusedPastTheDoorsBudget() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"], maxMessageBytes: 65_536)
        try fixture.start(apps: ["shop", "blog"])
        let bodyPath = fixture.directory.appendingPathComponent("large-body.json").path
        try Data("[".utf8 + [UInt8](repeating: 0x20, count: 40 << 20) + "]".utf8).write(
            to: URL(fileURLWithPath: bodyPath))
        let before = Self.residentBytes(fixture.pid)
        let uploads = try (0..<8).map { index in
            try ChildProcess.spawn(
                executable: "/usr/bin/curl",
                arguments: [
                    "-s", "-o", "/dev/null", "-D", fixture.directory.appendingPathComponent("headers-\(index)").path,
                    "--limit-rate", "8M", "--max-time", "30", "-H",
                    "Authorization: Bearer \(ListenerFixture.adminToken)",
                    "-H", "Content-Type: application/json", "--data-binary", "@\(bodyPath)",
                    "http://127.0.0.1:\(fixture.httpPort)/v1/events",
                ], logFile: fixture.directory.appendingPathComponent("curl-\(index).log").path)
        }
        var peak = before
        var smallAccepted = false
        let deadline = Date().addingTimeInterval(25)
        while Date() < deadline, uploads.contains(where: { ChildProcess.isAlive($0) }) {
            peak = max(peak, Self.residentBytes(fixture.pid))
            if !smallAccepted {
                let reply = try fixture.http(
                    "POST", "/v1/events", body: Messages.mixed("blog", id: "small-1", index: 1))
                smallAccepted = reply.status == 202
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        for pid in uploads { _ = ChildProcess.waitForExit(pid, timeout: 10) }
        let statuses = (0..<8).map { index -> Int in
            let headers =
                (try? String(
                    contentsOfFile: fixture.directory.appendingPathComponent("headers-\(index)").path, encoding: .utf8))
                ?? ""
            return RawTCP.httpStatus(headers) ?? 0
        }
        let busy = (0..<8).filter { statuses[$0] == 503 }
        #expect(busy.count >= 5, "statuses \(statuses)")
        #expect(
            statuses.allSatisfy { $0 == 503 || $0 == 400 }, "the admitted ones are read whole (an empty array: 400)")
        if let first = busy.first {
            let headers = try String(
                contentsOfFile: fixture.directory.appendingPathComponent("headers-\(first)").path, encoding: .utf8)
            #expect(headers.lowercased().contains("retry-after: 1"))
        }
        #expect(smallAccepted, "another app's small batch is accepted while large bodies are read")
        #expect(
            peak - before < 200 << 20,
            "listener RSS grew by \((peak - before) >> 20) MiB (from \(before >> 20) MiB) under 8 uploads of 40 MiB")
        print(
            "measured: 8 concurrent 40 MiB uploads: statuses \(statuses); listener RSS \(before >> 20) MiB, peak +\((peak - before) >> 20) MiB"
        )
        #expect(fixture.terminate())
    }
}
