import Foundation
import Shared

/// One TCP NDJSON connection sending a pre-encoded stream: a sender thread writes chunks (paced to
/// `rate` if given, else as fast as the window allows) and a reader thread takes the listener's
/// answers, which come in order, one per line, after the journal commit. Per-message send and
/// answer times are kept so the modes can cut latency windows after the run.
///
/// Unchecked Sendable: `sendTimes` is written by the sender before the bytes leave and read by the
/// reader after the answer for them came back (the socket round trip orders the two); the counters
/// are written only by the reader and read after `join()`.
final class TCPStreamRun: @unchecked Sendable {
    let stream: EncodedStream
    let sendTimes: UnsafeMutableBufferPointer<UInt64>
    let answerTimes: UnsafeMutableBufferPointer<UInt64>
    private(set) var oks = 0
    private(set) var errors = 0
    private(set) var firstError: String?
    private(set) var answered = 0
    private var threads: [JoinableThread] = []

    init(stream: EncodedStream) {
        self.stream = stream
        sendTimes = .allocate(capacity: max(1, stream.count))
        sendTimes.initialize(repeating: 0)
        answerTimes = .allocate(capacity: max(1, stream.count))
        answerTimes.initialize(repeating: 0)
    }

    deinit {
        sendTimes.deallocate()
        answerTimes.deallocate()
    }

    /// Connects and starts both threads. `window` bounds the messages in flight (in chunks).
    func start(port: Int, token: String, chunk fastest: Int = 256, window: Int = 8192, rate: Double? = nil) throws {
        // A paced load is written about once a millisecond: 256-line chunks at 5,000 msgs/s were
        // a burst every 51 ms, and a trigger queued behind a burst measured the burst, not the
        // scheduler's path (the "~90 ms stalls" of issue 15).
        let chunk = rate.map { max(1, min(fastest, Int($0 / 1000))) } ?? fastest
        let socket = try LineSocket(loopbackPort: port)
        socket.setReceiveTimeout(120)
        try socket.write("{\"auth\":\"\(token)\"}\n")
        let credits = DispatchSemaphore(value: max(1, window / chunk))
        let total = stream.count
        threads.append(
            JoinableThread("bench-tcp-reader") { [self] in
                var index = 0
                socket.forEachLine { line in
                    answerTimes[index] = monotonicNanos()
                    // {"ok":"..."} or {"error":...}
                    if line.count > 5, line[2] == UInt8(ascii: "o"), line[3] == UInt8(ascii: "k") {
                        oks += 1
                    } else {
                        errors += 1
                        if firstError == nil { firstError = String(decoding: line, as: UTF8.self) }
                    }
                    index += 1
                    if index % chunk == 0 || index == total { credits.signal() }
                    return index < total
                }
                answered = index
                // Unblocks the sender if the connection died early.
                for _ in 0..<(total / chunk + 2) { credits.signal() }
            })
        threads.append(
            JoinableThread("bench-tcp-sender") { [self] in
                let started = monotonicNanos()
                var lower = 0
                var chunkIndex = 0
                stream.bytes.withUnsafeBytes { bytes in
                    while lower < total {
                        let upper = min(lower + chunk, total)
                        if let rate {
                            let due = started + UInt64(Double(lower) / rate * 1e9)
                            let now = monotonicNanos()
                            if due > now { usleep(useconds_t((due - now) / 1000)) }
                        }
                        credits.wait()
                        let now = monotonicNanos()
                        for index in lower..<upper { sendTimes[index] = now }
                        let from = lower == 0 ? 0 : stream.lineEnds[lower - 1]
                        let to = stream.lineEnds[upper - 1]
                        do {
                            try socket.write(UnsafeRawBufferPointer(rebasing: bytes[from..<to]))
                        } catch {
                            return
                        }
                        lower = upper
                        chunkIndex += 1
                    }
                }
            })
    }

    func join() { for thread in threads { thread.join() } }

    /// Answer latencies (ns) of the messages whose app index passes `app` and whose send time is
    /// inside `window`.
    func latencies(app: (UInt16) -> Bool, window: ClosedRange<UInt64>) -> [UInt64] {
        var out: [UInt64] = []
        for index in 0..<answered where app(stream.appIndex[index]) && window.contains(sendTimes[index]) {
            out.append(answerTimes[index] &- sendTimes[index])
        }
        return out
    }
}

/// Splits `total` messages over `connections` TCP streams, runs them to completion.
struct TCPLoad {
    var runs: [TCPStreamRun] = []

    init(workload: Workload, stream prefix: String, total: Int, connections: Int) {
        let per = total / connections
        for connection in 0..<connections {
            let lower = connection * per
            let upper = connection == connections - 1 ? total : lower + per
            runs.append(TCPStreamRun(stream: workload.encode(stream: "\(prefix)c\(connection)", range: lower..<upper)))
        }
    }

    var perApp: [String: Int] {
        runs.reduce(into: [:]) { sum, run in for (app, count) in run.stream.perApp { sum[app, default: 0] += count } }
    }

    func start(port: Int, rate: Double? = nil) throws {
        let share = rate.map { $0 / Double(runs.count) }
        for run in runs { try run.start(port: port, token: BenchEnvironment.token, rate: share) }
    }

    func join() { for run in runs { run.join() } }

    var oks: Int { runs.reduce(0) { $0 + $1.oks } }
    var errors: Int { runs.reduce(0) { $0 + $1.errors } }
    var firstError: String? { runs.lazy.compactMap(\.firstError).first }
}
