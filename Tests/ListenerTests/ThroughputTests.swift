import Foundation
import Shared
import TestSupport
import Testing

/// A quick local throughput run (the full benchmark is its own issue): N messages over C pipelined
/// TCP connections to one app, timed until all are answered ok and until the worker applied them.
/// Runs only when `MIMIC_BENCH_MESSAGES` is set (e.g. 20000) and `MIMIC_BENCH_CONNECTIONS` (default 2) size it.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["MIMIC_BENCH_MESSAGES"] != nil,
        "set MIMIC_BENCH_MESSAGES to run the quick throughput test"), .startsProcesses)
struct ThroughputTests {
    @Test func tcpIngressToAppliedThroughput() throws {
        let environment = ProcessInfo.processInfo.environment
        let total = Int(environment["MIMIC_BENCH_MESSAGES"] ?? "") ?? 20_000
        let connections = Int(environment["MIMIC_BENCH_CONNECTIONS"] ?? "") ?? 2
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let perConnection = total / connections
        let started = Date()
        let failures = LockedCount()
        DispatchQueue.concurrentPerform(iterations: connections) { connection in
            do {
                let client = try LineSocket(tcpPort: fixture.tcpPort)
                try client.send("{\"auth\":\"\(ListenerFixture.adminToken)\"}\n")
                let chunk = 1000
                var sent = 0
                var answered = 0
                while sent < perConnection {
                    let upper = min(sent + chunk, perConnection)
                    try client.sendLines((sent..<upper).map { Messages.health("shop", id: "p-\(connection)-\($0)") })
                    sent = upper
                    // Keep at most two chunks in flight.
                    while answered < sent - chunk {
                        guard let line = try? client.readLine(timeout: 20), line.hasPrefix("{\"ok\"") else {
                            failures.add()
                            return
                        }
                        answered += 1
                    }
                }
                while answered < sent {
                    guard let line = try? client.readLine(timeout: 20), line.hasPrefix("{\"ok\"") else {
                        failures.add()
                        return
                    }
                    answered += 1
                }
            } catch {
                failures.add()
            }
        }
        let accepted = Date().timeIntervalSince(started)
        #expect(failures.value == 0)
        let expected = perConnection * connections
        #expect(try eventually(timeout: 120, interval: 0.02) { try fixture.appliedSeq("shop") == expected })
        let applied = Date().timeIntervalSince(started)
        print(
            "throughput: \(expected) messages over \(connections) TCP connections: accepted (journaled, fsync batch) "
                + "\(Int(Double(expected) / accepted)) msgs/s, applied by the worker \(Int(Double(expected) / applied)) msgs/s"
        )
        #expect(fixture.terminate())
    }
}

final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
