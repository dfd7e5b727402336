import Foundation

/// HTTP ingress load: `connections` keep-alive connections, each posting JSON arrays of `batch`
/// envelopes and waiting for the 202 (journaled) before the next: the way a bracket that batches
/// would use `POST /v1/events`.
final class HTTPBatchLoad: @unchecked Sendable {
    private var bodies: [[[UInt8]]] = []
    private var counts: [[Int]] = []
    let perApp: [String: Int]
    private let accepted = Locked(0)
    private let failures = Locked<[String]>([])

    init(workload: Workload, stream prefix: String, total: Int, connections: Int, batch: Int) {
        var perApp: [String: Int] = [:]
        let per = total / connections
        for connection in 0..<connections {
            let lower = connection * per
            let upper = connection == connections - 1 ? total : lower + per
            let encoded = workload.encodeBatches(stream: "\(prefix)h\(connection)", range: lower..<upper, batch: batch)
            bodies.append(encoded.bodies)
            var sizes: [Int] = []
            var remaining = upper - lower
            for _ in encoded.bodies {
                sizes.append(min(batch, remaining))
                remaining -= batch
            }
            counts.append(sizes)
            for (app, count) in encoded.perApp { perApp[app, default: 0] += count }
        }
        self.perApp = perApp
    }

    /// Runs every connection to completion; returns the number of messages answered 202.
    func run(port: Int) -> Int {
        let threads = bodies.indices.map { connection in
            JoinableThread("bench-http-\(connection)") { [self] in
                do {
                    let http = try HTTPLoadConnection(port: port)
                    for (index, body) in bodies[connection].enumerated() {
                        let response = try http.post("/v1/events", token: BenchEnvironment.token, body: body)
                        if response.status == 202 {
                            let count = counts[connection][index]
                            accepted.withLock { $0 += count }
                        } else {
                            let text = String(decoding: response.body, as: UTF8.self)
                            failures.withLock { $0.append("HTTP \(response.status): \(text)") }
                            return
                        }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        for thread in threads { thread.join() }
        return accepted.current
    }

    var firstFailure: String? { failures.current.first }
}
