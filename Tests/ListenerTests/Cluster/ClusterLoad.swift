import Foundation
import Shared
import TestSupport

/// The traffic of the cluster fault battery: a background thread posting batches of health
/// reports over HTTP to the instances the battery has not cut off, stopped or killed, in turn.
/// A batch holds one app's messages only: a batch over several apps is journaled as held parts,
/// and a fault between the parts voids seqs, which would blur the "one seq, one effect" check.
/// Each message is accepted (202: it must take effect exactly once) or uncertain (no clear answer,
/// or a refusal: at most once; a 503 can come after the append reached Redis).
final class ClusterLoad: @unchecked Sendable {
    struct Tally {
        var accepted: [String: Set<String>] = [:]
        var uncertain: [String: Set<String>] = [:]
        var acceptedCount: Int { accepted.values.reduce(0) { $0 + $1.count } }
        var uncertainCount: Int { uncertain.values.reduce(0) { $0 + $1.count } }
    }

    let cluster: ClusterFixture
    private let lock = NSLock()
    private var tally = Tally()
    private var available: Set<String>
    private var stopping = false
    private var started = false
    private var counter = 0
    private let done = DispatchSemaphore(value: 0)

    init(cluster: ClusterFixture, instances: [String]) {
        self.cluster = cluster
        self.available = Set(instances)
    }

    var snapshot: Tally { lock.withLock { tally } }

    /// Before a fault makes the instance unreachable: no new request goes to it.
    func withdraw(_ name: String) { lock.withLock { _ = available.remove(name) } }
    func restore(_ name: String) { lock.withLock { _ = available.insert(name) } }

    /// The thread is not kept: a load holding its thread, whose closure holds the load, would
    /// never be freed, and neither would the cluster it points to (its listeners kept running
    /// after a test ended that way).
    func start() {
        lock.withLock { started = true }
        Thread { [self] in
            run()
            done.signal()
        }.start()
    }

    /// Idempotent: the test's cleanup calls it again on every exit path.
    func stop() {
        let wasRunning = lock.withLock {
            defer { stopping = true }
            return !stopping && started
        }
        if wasRunning { done.wait() }
    }

    private func run() {
        var turn = 0
        while !lock.withLock({ stopping }) {
            turn += 1
            let targets = lock.withLock { available.sorted() }
            guard !targets.isEmpty else {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            send(cluster.apps[turn % cluster.apps.count], through: targets[(turn / cluster.apps.count) % targets.count])
        }
    }

    private func send(_ app: String, through name: String) {
        var ids: [String] = []
        var texts: [String] = []
        for _ in 0..<20 {
            counter += 1
            let id = "cfb-\(counter)"
            ids.append(id)
            texts.append(Messages.health(app, id: id))
        }
        let body = "[" + texts.joined(separator: ",") + "]"
        // A short bound: an instance cut off mid-request would hold the load for curl's whole wait.
        let reply = try? cluster[name].http("POST", "/v1/events", body: body, timeoutSeconds: 5)
        let accepted = reply?.status == 202 && reply?.json["accepted"] as? Int == texts.count
        lock.withLock {
            if accepted {
                tally.accepted[app, default: []].formUnion(ids)
            } else {
                tally.uncertain[app, default: []].formUnion(ids)
            }
        }
        if !accepted { Thread.sleep(forTimeInterval: 0.2) }
    }
}
