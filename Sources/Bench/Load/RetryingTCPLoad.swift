import Foundation
import Shared

/// One paced TCP NDJSON connection that behaves like a sender through a Redis failover: a message
/// the listener refuses with code 503 (its journal's Redis is not durable yet) is kept and sent
/// again `retryMillis` later under the same id, until it is acknowledged. A retry of a message
/// whose refused append did reach Redis is deduplicated by its `(source, id)` key, so it still
/// takes effect once. Any other error line fails the message for good (the mode then fails).
///
/// Answers come in order, one per line, so a FIFO of the message indices written maps each answer
/// to its message; everything the two threads share is under `state`'s lock.
final class RetryingTCPStream: @unchecked Sendable {
    struct State {
        var fifo: [Int] = []
        var fifoHead = 0
        /// Refused messages, oldest first; their due times grow in the same order.
        var retries: [(index: Int, due: UInt64)] = []
        var retryHead = 0
        var sentAt: [UInt64]
        var ackedAt: [UInt64]
        var oks = 0
        var refused: [UInt64] = []
        var failed = 0
        var firstError: String?
        var firstRefusal: String?
        var inFlight: Int { fifo.count - fifoHead }
    }

    let stream: EncodedStream
    /// Ids of the stream's messages: `<idPrefix><firstIndex + line>` (Workload's `<stream>-<index>`).
    let idPrefix: String
    let firstIndex: Int
    let state: Locked<State>
    private var threads: [JoinableThread] = []

    init(stream: EncodedStream, idPrefix: String, firstIndex: Int) {
        self.stream = stream
        self.idPrefix = idPrefix
        self.firstIndex = firstIndex
        state = Locked(
            State(sentAt: Array(repeating: 0, count: stream.count), ackedAt: Array(repeating: 0, count: stream.count)))
    }

    func id(of line: Int) -> String { idPrefix + String(firstIndex + line) }

    /// Connects and starts the threads; fresh messages go out at `rate` msgs/s, refused ones again
    /// after `retryMillis`, at most `window` unanswered; the sender gives up at `deadline`.
    func start(port: Int, token: String, rate: Double, retryMillis: Double, window: Int = 4096, deadline: UInt64) throws
    {
        let socket = try LineSocket(loopbackPort: port)
        socket.setReceiveTimeout(60)
        try socket.write("{\"auth\":\"\(token)\"}\n")
        let total = stream.count
        let retryNanos = UInt64(retryMillis * 1e6)
        threads.append(
            JoinableThread("bench-retry-reader") { [self] in
                _ = socket.forEachLine { line in
                    let now = monotonicNanos()
                    let ok = line.count > 5 && line[2] == UInt8(ascii: "o") && line[3] == UInt8(ascii: "k")
                    let text = ok ? "" : String(decoding: line, as: UTF8.self)
                    return state.withLock { state in
                        guard state.fifoHead < state.fifo.count else {
                            if state.firstError == nil { state.firstError = "answer without a message: \(text)" }
                            state.failed = total
                            return false
                        }
                        let index = state.fifo[state.fifoHead]
                        state.fifoHead += 1
                        if ok {
                            state.ackedAt[index] = now
                            state.oks += 1
                        } else if text.contains("\"code\":503") {
                            state.refused.append(now)
                            if state.firstRefusal == nil { state.firstRefusal = text }
                            state.retries.append((index, now + retryNanos))
                        } else {
                            state.failed += 1
                            if state.firstError == nil { state.firstError = text }
                        }
                        return state.oks + state.failed < total
                    }
                }
            })
        threads.append(
            JoinableThread("bench-retry-sender") { [self] in
                let started = monotonicNanos()
                var next = 0
                var out: [UInt8] = []
                while true {
                    let now = monotonicNanos()
                    if now > deadline { break }
                    let batch: [Int]? = state.withLock { state in
                        if state.oks + state.failed >= total { return nil }
                        var batch: [Int] = []
                        while state.retryHead < state.retries.count, state.retries[state.retryHead].due <= now,
                            state.inFlight + batch.count < window
                        {
                            batch.append(state.retries[state.retryHead].index)
                            state.retryHead += 1
                        }
                        while next < total, started + UInt64(Double(next) / rate * 1e9) <= now,
                            state.inFlight + batch.count < window
                        {
                            batch.append(next)
                            next += 1
                        }
                        for index in batch {
                            state.fifo.append(index)
                            state.sentAt[index] = now
                        }
                        return batch
                    }
                    guard let batch else { break }
                    if batch.isEmpty {
                        usleep(500)
                        continue
                    }
                    out.removeAll(keepingCapacity: true)
                    for index in batch {
                        let from = index == 0 ? 0 : stream.lineEnds[index - 1]
                        out += stream.bytes[from..<stream.lineEnds[index]]
                    }
                    do { try socket.write(out) } catch { break }
                }
                // The listener answers what it has and closes, which ends the reader.
                socket.shutdownWrite()
            })
    }

    func join() { for thread in threads { thread.join() } }
}

/// `total` messages over `connections` retrying streams, paced to `rate` over all of them.
struct RetryingTCPLoad {
    var runs: [RetryingTCPStream] = []

    init(workload: Workload, stream prefix: String, total: Int, connections: Int) {
        let per = total / connections
        for connection in 0..<connections {
            let lower = connection * per
            let upper = connection == connections - 1 ? total : lower + per
            let name = "\(prefix)c\(connection)"
            runs.append(
                RetryingTCPStream(
                    stream: workload.encode(stream: name, range: lower..<upper), idPrefix: name + "-", firstIndex: lower
                ))
        }
    }

    func start(port: Int, rate: Double, retryMillis: Double, deadline: UInt64) throws {
        for run in runs {
            try run.start(
                port: port, token: BenchEnvironment.token, rate: rate / Double(runs.count), retryMillis: retryMillis,
                deadline: deadline)
        }
    }

    func join() { for run in runs { run.join() } }

    var total: Int { runs.reduce(0) { $0 + $1.stream.count } }
    var oks: Int { runs.reduce(0) { $0 + $1.state.current.oks } }
    var failed: Int { runs.reduce(0) { $0 + $1.state.current.failed } }
    var firstError: String? { runs.lazy.compactMap { $0.state.current.firstError }.first }
    var firstRefusal: String? { runs.lazy.compactMap { $0.state.current.firstRefusal }.first }
    /// Answer times of every 503.
    var refusals: [UInt64] { runs.flatMap { $0.state.current.refused } }

    /// The acknowledged messages' ids, each with the app it was for.
    var acknowledged: [(id: String, app: Int)] {
        var out: [(String, Int)] = []
        for run in runs {
            let state = run.state.current
            for line in 0..<run.stream.count where state.ackedAt[line] != 0 {
                out.append((run.id(of: line), Int(run.stream.appIndex[line])))
            }
        }
        return out
    }

    /// The first acknowledgement received after `instant` for a send written after it: a message
    /// whose append had reached a replica before a master kill can still be answered after it,
    /// and would show the failover as shorter than it was.
    func firstAcknowledgement(sentAfter instant: UInt64) -> UInt64? {
        var first: UInt64?
        for run in runs {
            let state = run.state.current
            for line in 0..<run.stream.count where state.ackedAt[line] != 0 && state.sentAt[line] > instant {
                first = min(first ?? .max, state.ackedAt[line])
            }
        }
        return first
    }
}
