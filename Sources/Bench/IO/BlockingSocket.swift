import Glibc
import Shared

struct SocketError: Error, CustomStringConvertible {
    var description: String
    init(_ what: String, errno code: Int32 = errno) {
        description = "\(what): \(String(cString: strerror(code)))"
    }
    init(message: String) { description = message }
}

/// A blocking stream socket (TCP or Unix) with a read buffer. The load generators run one thread
/// per direction on plain blocking sockets: the bench has to stay cheap on a 2-core machine that it
/// shares with the system under test, and a thread blocked in read() timestamps a reply the moment
/// it arrives, with no event-loop hop in between.
///
/// Unchecked Sendable: at most one thread reads and at most one thread writes at a time (the
/// buffer belongs to the reading side), which is how every caller in the bench uses it.
final class BlockingSocket: @unchecked Sendable {
    let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0

    private init(fd: Int32, bufferSize: Int = 1 << 16) {
        self.fd = fd
        buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        Glibc.close(fd)
        buffer.deallocate()
    }

    /// A connection to 127.0.0.1:`port` without Nagle's delay (the load is many small lines).
    static func tcp(port: Int) throws -> BlockingSocket {
        let fd = try PosixSocket.connect(to: PosixSocket.loopback(port: port))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return BlockingSocket(fd: fd)
    }

    static func unix(path: String) throws -> BlockingSocket {
        BlockingSocket(fd: try PosixSocket.connect(unixPath: path))
    }

    /// Wraps an accepted descriptor.
    static func adopt(_ fd: Int32) -> BlockingSocket { BlockingSocket(fd: fd) }

    func setReceiveTimeout(millis: Int) {
        var value = timeval(tv_sec: millis / 1000, tv_usec: (millis % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written < 0 {
                if errno == EINTR { continue }
                throw SocketError("send")
            }
            offset += written
        }
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Refills the buffer; false on EOF, timeout or error.
    private func fill() -> Bool {
        if start == end {
            start = 0
            end = 0
        } else if end == buffer.count {
            // A line longer than what is left: slide it to the front.
            let pending = end - start
            if start == 0 { return false }  // a line longer than the buffer: not a protocol the bench speaks
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: pending)
            start = 0
            end = pending
        }
        while true {
            let count = Glibc.recv(fd, buffer.baseAddress! + end, buffer.count - end, 0)
            if count > 0 {
                end += count
                return true
            }
            if count < 0, errno == EINTR { continue }
            return false
        }
    }

    /// Calls `line` for every complete line (without the newline) until it returns false or the
    /// peer closes; the bytes are only valid inside the call. Returns false on EOF or error.
    @discardableResult
    func forEachLine(_ line: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        while true {
            while let newline = firstNewline() {
                let slice = UnsafeRawBufferPointer(rebasing: buffer[start..<newline])
                start = newline + 1
                if !line(slice) { return true }
            }
            if !fill() { return false }
        }
    }

    /// One line as text, or nil on EOF/timeout.
    func readLine() -> String? {
        while true {
            if let newline = firstNewline() {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start..<newline]), as: UTF8.self)
                start = newline + 1
                return text
            }
            if !fill() { return nil }
        }
    }

    /// Exactly `count` bytes, or nil on EOF/timeout.
    func read(exactly count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if start == end, !fill() { return nil }
            let take = min(count - out.count, end - start)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + take)]))
            start += take
        }
        return out
    }

    /// Raw read into the caller's buffer (for the relay), bypassing line splitting.
    func readRaw(into target: UnsafeMutableRawBufferPointer) -> Int {
        if start < end {
            let take = min(target.count, end - start)
            target.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: take)
            start += take
            return take
        }
        while true {
            let count = Glibc.recv(fd, target.baseAddress!, target.count, 0)
            if count < 0, errno == EINTR { continue }
            return count
        }
    }

    private func firstNewline() -> Int? {
        guard start < end else { return nil }
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let found = memchr(base + start, 0x0A, end - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
}

/// A listening Unix socket (the relay baseline's hops).
final class UnixListener: @unchecked Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = try PosixSocket.bind(to: PosixSocket.unixAddress(path))
        guard listen(fd, 16) == 0 else { throw SocketError("listen \(path)") }
    }

    func accept() throws -> BlockingSocket {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw SocketError("accept \(path)") }
        return BlockingSocket.adopt(client)
    }

    deinit {
        Glibc.close(fd)
        unlink(path)
    }
}
