import Foundation
import Shared
import Synchronization
import TestSupport

/// A stand-in for an app worker on `<run_dir>/<app>.sock`, scripted by the test: it answers the
/// listener's `{"op":"hello"}` as told, records every frame and gap line it gets (acknowledging
/// each frame at once), and can close the connection after a number of frames, as a worker whose
/// commit was refused does. One delivery link at a time, like the real worker's listener link;
/// the listener's queries on connections of their own (`status`, `executors`) are answered beside
/// it and are not counted as links.
final class ScriptedWorker: @unchecked Sendable {
    enum HelloAnswer: Sendable {
        /// `{"hello":{"epoch":…,"seq":N}}`
        case position(epoch: String?, seq: UInt64)
        /// What a worker without hello answers: an error line.
        case unknownOp
        /// No answer at all (a worker still waiting for Redis).
        case silent
    }

    struct Frame: Sendable, Equatable {
        var connection: Int
        var seq: UInt64
        var at: Int64?
        var id: String
    }

    struct State: Sendable {
        var hello: HelloAnswer = .unknownOp
        /// Close the connection after this many frames (then `nil` again).
        var closeAfterFrames: Int?
        /// Delivery links (connections whose first line is not a query op).
        var connections = 0
        /// Query connections (`status`, `executors`) answered.
        var queries = 0
        var hellosAsked = 0
        var frames: [Frame] = []
        var gaps: [GapFrame] = []
        /// First lines that were not the hello op.
        var unexpected: [String] = []
        /// Answer `{"op":"status"}` naming this pid (whatever process it is), as a lying worker would.
        var statusPID: Int?
    }

    let path: String
    private let listenFD: Int32
    let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)

    init(path: String) throws {
        self.path = path
        unlink(path)
        let fd = try PosixSocket.bind(to: try PosixSocket.unixAddress(path))
        guard Glibc.listen(fd, 8) == 0 else {
            Glibc.close(fd)
            throw TestSupportError("listen \(path): errno \(errno)")
        }
        listenFD = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        Glibc.close(listenFD)
        unlink(path)
    }

    deinit { if !stopped.load(ordering: .acquiring) { stop() } }

    func script(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }
    var snapshot: State { state.withLock { $0 } }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let fd = Glibc.accept(listenFD, nil, nil)
            guard fd >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let socket = LineSocket(adopting: fd, peer: path)
            Thread.detachNewThread { [self] in serve(socket) }
        }
    }

    private func serve(_ socket: LineSocket) {
        guard let first = try? socket.readLine(timeout: 30) else { return }
        if first == SocketOp.executors.line.dropLast() {
            state.withLock { $0.queries += 1 }
            if let line = try? JSONEncoder().encode(WorkerExecutors(app: "shop", executors: [])) {
                try? socket.write(String(decoding: line, as: UTF8.self) + "\n")
            }
            return
        }
        if first == SocketOp.status.line.dropLast(), let pid = state.withLock({ $0.statusPID }) {
            state.withLock { $0.queries += 1 }
            let status = WorkerStatus(
                app: "shop", pid: pid, redis: "up", loaded: true, counts: [:], paused: false, onlineVersion: 0,
                hosts: [:], uptimeSeconds: 1, applied: nil)
            if let line = try? JSONEncoder().encode(status) {
                try? socket.write(String(decoding: line, as: UTF8.self) + "\n")
            }
            return
        }
        if first == SocketOp.metrics.line.dropLast() {
            // The listener's trend sampling and /metrics ask every few seconds, on a connection of
            // their own: counted as a link, one that fell between a close and the reconnect made
            // the replay test look for its frames on the wrong connection.
            try? socket.write("{\"app\":\"shop\",\"metrics\":\"\"}\n")
            return
        }
        let connection = state.withLock { state -> Int in
            state.connections += 1
            return state.connections
        }
        guard first == SocketOp.hello.line.dropLast() else {
            state.withLock { $0.unexpected.append(first) }
            return
        }
        let answer = state.withLock { state -> HelloAnswer in
            state.hellosAsked += 1
            return state.hello
        }
        switch answer {
        case .position(let epoch, let seq):
            guard (try? socket.write(WorkerHello(epoch: epoch, seq: seq).line)) != nil else { return }
        case .unknownOp:
            guard (try? socket.write("{\"error\":\"unknown op 'hello'\"}\n")) != nil else { return }
        case .silent:
            // Hold the connection without a word until the listener gives up on it.
            while (try? socket.readLine(timeout: 30)) ?? nil != nil {}
            return
        }
        while !stopped.load(ordering: .acquiring), let line = try? socket.readLine(timeout: 60) {
            if let gap = GapFrame.parse(Array(line.utf8)) {
                state.withLock { $0.gaps.append(gap) }
                continue
            }
            guard let frame = DeliveryFrame(line: Array(line.utf8)) else {
                state.withLock { $0.unexpected.append(line) }
                continue
            }
            var id = ""
            if case .object(let fields) = frame.msg, case .string(let value)? = fields["id"] { id = value }
            let close = state.withLock { state -> Bool in
                state.frames.append(Frame(connection: connection, seq: frame.seq, at: frame.at, id: id))
                guard let limit = state.closeAfterFrames else { return false }
                if limit <= 1 {
                    state.closeAfterFrames = nil
                    return true
                }
                state.closeAfterFrames = limit - 1
                return false
            }
            if close { return }  // the socket closes as it goes out of scope, frame unacknowledged
            guard (try? socket.write("{\"ack\":\(frame.seq)}\n")) != nil else { return }
        }
    }
}
