import Foundation
import Shared
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A worker that traps starts the Swift runtime's crash reporter (`swift-backtrace`), which
/// inherits every descriptor not marked close-on-exec. In issue 12's 10-minute battery one such
/// reporter hung and outlived its worker holding `<app>.sock`: no later worker could start.
@Suite(.serialized, .startsProcesses)
struct CrashReporterTests {
    /// The pid of a live `swift-backtrace` whose parent is `parent`, if any.
    static func crashReporter(of parent: pid_t) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let name = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if name.hasPrefix("swift-backtrace"), fields.count > 1, pid_t(fields[1]) == parent { return pid }
        }
        return nil
    }

    /// Inodes of the sockets `pid` holds open.
    static func socketInodes(of pid: pid_t) -> Set<String> {
        let dir = "/proc/\(pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return Set(
            names.compactMap { name -> String? in
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + name),
                    target.hasPrefix("socket:[")
                else { return nil }
                return String(target.dropFirst("socket:[".count).dropLast())
            })
    }

    /// The inode of the Unix socket listening at `path` (/proc/net/unix).
    static func listeningInode(_ path: String) -> String? {
        // Read to the end: String(contentsOfFile:) stops after the first 4 KB of a /proc file.
        let handle = FileHandle(forReadingAtPath: "/proc/net/unix")
        defer { try? handle?.close() }
        let table = String(decoding: (try? handle?.readToEnd()) ?? Data(), as: UTF8.self)
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 8, fields[7] == path { return String(fields[6]) }
        }
        return nil
    }

    @Test func aHungCrashReporterKeepsNoneOfTheAppsSocketsAndTheNextWorkerStarts() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.launch(environment: ["MIMIC_FAULT_TRAP_ID_PREFIX": "msg-1"])
        let up = try eventually(timeout: 20) {
            guard worker.isAlive else { throw TestSupportError("worker exited early: \(worker.log())") }
            return (try? worker.connect()) != nil
        }
        try #require(up)
        let listening = try #require(Self.listeningInode(worker.socketPath), "the worker's socket in /proc/net/unix")
        let crashed = worker.pid
        let link = try worker.connect()
        // Its Redis connections, the listening socket and the accepted link (ops answered on a
        // second connection come after the link's accept).
        _ = try worker.status()
        let beforeTheCrash = Self.socketInodes(of: crashed)
        #expect(beforeTheCrash.count >= 3, "listening socket, link, Redis: \(beforeTheCrash)")
        try link.sendJSON(
            deliveryFrame(
                epoch: "ep-c", seq: 1, source: "left_bracket", type: "health",
                body: ["executor": "ghost-1", "status": "up"]))

        // Caught while it runs, and stopped: a reporter that never finishes, as the battery saw.
        var reporter: pid_t?
        let deadline = Date().addingTimeInterval(20)
        while reporter == nil, Date() < deadline {
            reporter = Self.crashReporter(of: crashed)
            if reporter == nil { usleep(5_000) }
        }
        let hung = try #require(
            reporter, "no swift-backtrace started by the trapping worker; \(worker.log().suffix(1500))")
        ChildProcess.signal(hung, SIGSTOP)
        defer {
            ChildProcess.signal(hung, SIGKILL)
            ChildProcess.signal(hung, SIGCONT)
        }
        let held = Self.socketInodes(of: hung)
        #expect(!held.contains(listening), "the crash reporter holds the app's listening socket")
        #expect(
            held.isDisjoint(with: beforeTheCrash), "the crash reporter holds the worker's sockets (Redis, the link)")

        // The supervisor (here the test) gives up on the wedged process and starts the next one,
        // which must be able to take the socket over and apply frames.
        worker.kill9()
        try worker.start()
        let next = try worker.connect()
        for seq in 1...2 {
            try next.sendJSON(
                deliveryFrame(
                    epoch: "ep-c", seq: seq, source: "left_bracket", type: "health",
                    body: ["executor": "ghost-\(seq)", "status": "up"]))
        }
        var acked = 0
        while acked < 2, let reply = next.readJSON(timeout: 20) { acked = reply["ack"] as? Int ?? acked }
        #expect(acked == 2, "\(worker.log().suffix(1500))")
        worker.terminate()
    }
}
