import Foundation
import Shared
import TestSupport

/// The traffic of the fault battery: a background thread sending batches over HTTP and TCP to two
/// apps, recording each message as accepted (answered 202 / ok: it must take effect exactly once)
/// or uncertain (no clear answer because a fault cut the exchange: at most once).
final class FaultLoad: @unchecked Sendable {
    struct Tally {
        var accepted: Set<String> = []
        var uncertain: Set<String> = []
        var refused = 0
        var httpAccepted = 0
        var tcpAccepted = 0
    }

    let fixture: ListenerFixture
    let apps: [String]
    private let lock = NSLock()
    private var tally = Tally()
    private var stopping = false
    private var thread: Thread?
    private var counter = 0
    private let done = DispatchSemaphore(value: 0)

    init(fixture: ListenerFixture, apps: [String]) {
        self.fixture = fixture
        self.apps = apps
    }

    var snapshot: Tally { lock.withLock { tally } }

    func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// Idempotent: the test's cleanup calls it again on every exit path.
    func stop() {
        let wasRunning = lock.withLock {
            defer { stopping = true }
            return !stopping && thread != nil
        }
        if wasRunning { done.wait() }
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// Health reports for an unknown executor (one note event each, cause = the id) and, now and
    /// then, an operator rotation (moves executors, so hooks run).
    private func nextBatch(_ size: Int) -> [(app: String, id: String, text: String)] {
        (0..<size).map { _ in
            counter += 1
            let app = apps[counter % apps.count]
            if counter % 97 == 0 {
                let id = "fb-r-\(counter)"
                return (app, id, Messages.rotate(app, id: id))
            }
            let id = "fb-h-\(counter)"
            return (app, id, Messages.health(app, id: id))
        }
    }

    private func record(accepted: [String], uncertain: [String], refused: Int = 0, viaTCP: Bool) {
        lock.withLock {
            tally.accepted.formUnion(accepted)
            tally.uncertain.formUnion(uncertain)
            tally.refused += refused
            if viaTCP { tally.tcpAccepted += accepted.count } else { tally.httpAccepted += accepted.count }
        }
    }

    private func run() {
        var tcp: LineSocket?
        var round = 0
        while !isStopping {
            round += 1
            let batch = nextBatch(20)
            if round % 2 == 0 {
                sendHTTP(batch)
            } else {
                tcp = sendTCP(batch, over: tcp)
            }
        }
    }

    private func sendHTTP(_ batch: [(app: String, id: String, text: String)]) {
        let ids = batch.map(\.id)
        let body = "[" + batch.map(\.text).joined(separator: ",") + "]"
        guard let reply = try? fixture.http("POST", "/v1/events", body: body) else {
            // No answer (listener killed mid-request): the journal may or may not hold them.
            record(accepted: [], uncertain: ids, viaTCP: false)
            Thread.sleep(forTimeInterval: 0.2)
            return
        }
        if reply.status == 202, reply.json["accepted"] as? Int == batch.count {
            record(accepted: ids, uncertain: [], viaTCP: false)
        } else {
            record(accepted: [], uncertain: ids, refused: batch.count, viaTCP: false)
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    private func sendTCP(_ batch: [(app: String, id: String, text: String)], over existing: LineSocket?) -> LineSocket?
    {
        var client = existing
        if client == nil {
            client = try? LineSocket(tcpPort: fixture.tcpPort)
            guard let fresh = client, (try? fresh.send("{\"auth\":\"\(ListenerFixture.adminToken)\"}\n")) != nil else {
                record(accepted: [], uncertain: batch.map(\.id), viaTCP: true)
                Thread.sleep(forTimeInterval: 0.2)
                return nil
            }
        }
        guard let client, (try? client.sendLines(batch.map(\.text))) != nil else {
            record(accepted: [], uncertain: batch.map(\.id), viaTCP: true)
            return nil
        }
        var accepted: [String] = []
        var uncertain: [String] = []
        var broken = false
        for item in batch {
            guard !broken, let answer = client.readJSON(timeout: 30) else {
                broken = true
                uncertain.append(item.id)
                continue
            }
            if answer["ok"] as? String == item.id { accepted.append(item.id) } else { uncertain.append(item.id) }
        }
        record(accepted: accepted, uncertain: uncertain, refused: uncertain.count, viaTCP: true)
        return broken ? nil : client
    }
}
