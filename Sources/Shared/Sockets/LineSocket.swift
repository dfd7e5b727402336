import Foundation
import NIOCore

/// A blocking stream socket speaking newline-delimited text: mimicctl's question to a worker, the
/// bench's load and probes, the tests' clients of the listener and the workers. One read buffer
/// serves lines, exact byte counts and raw reads alike; reads and writes retry on EINTR.
///
/// Timeouts: `timeout` at connect bounds every later read and write (SO_RCVTIMEO/SO_SNDTIMEO);
/// `readLine(timeout:)` bounds the wait for one whole line. Either way the failure is `.timedOut`.
///
/// Unchecked Sendable: at most one thread reads and at most one thread writes at a time (the
/// buffer belongs to the reading side), which is how every caller uses it.
public final class LineSocket: @unchecked Sendable {
    public let descriptor: Int32
    /// The socket path or `host:port`, for errors.
    public let peer: String
    /// A line longer than this is refused rather than buffered without end.
    public let maximumLineBytes: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0

    /// Takes over a connected or accepted descriptor; closes it on deinit.
    public init(adopting descriptor: Int32, peer: String, bufferBytes: Int = 1 << 16, maximumLineBytes: Int = 1 << 24) {
        self.descriptor = descriptor
        self.peer = peer
        self.maximumLineBytes = max(maximumLineBytes, bufferBytes)
        buffer = .allocate(byteCount: max(bufferBytes, 16), alignment: 16)
    }

    deinit {
        Glibc.close(descriptor)
        buffer.deallocate()
    }

    public convenience init(unixPath: String, timeout: TimeInterval? = nil) throws(SocketFailure) {
        self.init(adopting: try PosixSocket.connect(unixPath: unixPath, timeout: timeout), peer: unixPath)
    }

    /// 127.0.0.1:`port` without Nagle's delay: the traffic is small lines that want an answer.
    public convenience init(loopbackPort port: Int, timeout: TimeInterval? = nil) throws(SocketFailure) {
        let fd = try PosixSocket.connect(to: PosixSocket.loopback(port: port), timeout: timeout)
        Self.disableNagle(fd)
        self.init(adopting: fd, peer: "127.0.0.1:\(port)")
    }

    private static func disableNagle(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads give up after `timeout` (writes keep blocking: a load sender must not drop bytes).
    public func setReceiveTimeout(_ timeout: TimeInterval) {
        var value = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    public func shutdownWrite() { Glibc.shutdown(descriptor, Int32(SHUT_WR)) }

    // MARK: - Writing

    /// All of `bytes`. MSG_NOSIGNAL: a peer that went away is an error here, not a SIGPIPE.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketFailure) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.send(descriptor, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written < 0 {
                if errno == EINTR { continue }
                throw SocketFailure(errno: errno, peer: peer, operation: "write")
            }
            offset += written
        }
    }

    public func write(_ bytes: [UInt8]) throws(SocketFailure) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketFailure) in try write(raw) } }.get()
    }

    public func write(_ text: String) throws(SocketFailure) { try write(Array(text.utf8)) }

    // MARK: - Reading

    /// The next line without its newline (a trailing CR is kept), or nil when the peer closed
    /// first. Bytes after the last newline at EOF are not a line and are dropped.
    public func readLine(timeout: TimeInterval? = nil) throws(SocketFailure) -> String? {
        let deadline = timeout.map { ContinuousClock.now + .seconds($0) }
        while true {
            if let newline = firstNewline() {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start..<newline]), as: UTF8.self)
                start = newline + 1
                return text
            }
            guard try fill(until: deadline) else { return nil }
        }
    }

    /// Calls `line` for every complete line (without the newline) until it returns false or the
    /// peer closes; the bytes are valid only inside the call. Returns false on EOF, timeout or
    /// error: the bench's readers count what arrived and stop.
    @discardableResult
    public func forEachLine(_ line: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        while true {
            while let newline = firstNewline() {
                let slice = UnsafeRawBufferPointer(rebasing: buffer[start..<newline])
                start = newline + 1
                if !line(slice) { return true }
            }
            guard (try? fill(until: nil)) == true else { return false }
        }
    }

    /// Exactly `count` bytes; a peer that closes before is `.closed`.
    public func read(exactly count: Int) throws(SocketFailure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if start == end {
                guard try fill(until: nil) else {
                    throw SocketFailure(
                        .closed, peer: peer, operation: "read",
                        detail: "connection closed after \(out.count) of \(count) bytes")
                }
            }
            let take = min(count - out.count, end - start)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + take)]))
            start += take
        }
        return out
    }

    /// Buffered bytes first, else one recv into `target`: what a relay forwards without framing.
    /// Returns 0 at EOF.
    public func readAvailable(into target: UnsafeMutableRawBufferPointer) throws(SocketFailure) -> Int {
        if start < end {
            let take = min(target.count, end - start)
            target.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: take)
            start += take
            return take
        }
        return try receive(into: target)
    }

    /// Reads more into the buffer; false at EOF.
    private func fill(until deadline: ContinuousClock.Instant?) throws(SocketFailure) -> Bool {
        try makeRoom()
        if let deadline { try waitReadable(until: deadline) }
        let count = try receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        end += count
        return count > 0
    }

    /// Free space after `end`: slide the pending bytes to the front, or grow for a long line.
    private func makeRoom() throws(SocketFailure) {
        if start == end {
            start = 0
            end = 0
        }
        guard end == buffer.count else { return }
        let pending = end - start
        if start > 0 {
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: pending)
        } else {
            guard buffer.count < maximumLineBytes else {
                throw SocketFailure(
                    .lineTooLong, peer: peer, operation: "read",
                    detail: "a line longer than \(maximumLineBytes) bytes")
            }
            let grown = UnsafeMutableRawBufferPointer.allocate(
                byteCount: min(buffer.count * 2, maximumLineBytes), alignment: 16)
            grown.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: pending)
            buffer.deallocate()
            buffer = grown
        }
        start = 0
        end = pending
    }

    private func receive(into target: UnsafeMutableRawBufferPointer) throws(SocketFailure) -> Int {
        while true {
            let count = Glibc.recv(descriptor, target.baseAddress!, target.count, 0)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw SocketFailure(errno: errno, peer: peer, operation: "read")
        }
    }

    private func waitReadable(until deadline: ContinuousClock.Instant) throws(SocketFailure) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            let millis =
                remaining <= .zero
                ? 0
                : Int32(
                    clamping: remaining.components.seconds * 1000
                        + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, millis)
            if ready > 0 { return }
            if ready < 0, errno == EINTR { continue }
            if ready < 0 { throw SocketFailure(errno: errno, peer: peer, operation: "read") }
            throw SocketFailure(.timedOut, peer: peer, operation: "read")
        }
    }

    private func firstNewline() -> Int? {
        guard start < end else { return nil }
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let found = memchr(base + start, 0x0A, end - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
}
