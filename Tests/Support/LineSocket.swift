import Foundation
import Shared

/// A blocking newline-delimited JSON client, as the listener or `socat` uses a worker's Unix socket
/// and as a bracket uses the listener's TCP port.
public final class LineSocket: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    private init(connected fd: Int32) {
        self.fd = fd
    }

    /// Retries until `timeout`: the socket file may not exist yet while a worker starts.
    public convenience init(path: String, timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var connected: Int32?
        while connected == nil {
            do {
                connected = try PosixSocket.connect(unixPath: path)
            } catch {
                if Date() > deadline { throw TestSupportError("cannot connect to \(path): \(error)") }
                usleep(20_000)
            }
        }
        self.init(connected: connected!)
    }

    /// 127.0.0.1:`tcpPort`, one attempt.
    public convenience init(tcpPort: Int) throws {
        do {
            self.init(connected: try PosixSocket.connect(to: PosixSocket.loopback(port: tcpPort)))
        } catch {
            throw TestSupportError("\(error)")
        }
    }

    deinit { close(fd) }

    /// One line: a newline is added unless `line` ends with one.
    public func send(_ line: String) throws {
        try sendRaw(line.hasSuffix("\n") ? line : line + "\n")
    }

    public func sendLines(_ lines: [String]) throws {
        try sendRaw(lines.joined(separator: "\n") + "\n")
    }

    /// Exactly these bytes, e.g. half a line to cut a client off mid-message.
    public func sendRaw(_ text: String) throws {
        let data = Array(text.utf8)
        var offset = 0
        while offset < data.count {
            let written = data[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestSupportError("write failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Sends the line if the socket takes data within `timeout`; false when the peer stopped
    /// reading (its buffers are full), which is how a test sees back-pressure.
    public func sendIfWritable(_ line: String, timeout: TimeInterval) throws -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return false }
        try send(line)
        return true
    }

    public func sendJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try send(String(decoding: data, as: UTF8.self))
    }

    /// The next line, or nil when nothing arrives within `timeout` or the peer closed.
    public func readLine(timeout: TimeInterval = 20) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000))
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    public func readJSON(timeout: TimeInterval = 20) -> [String: Any]? {
        guard let line = readLine(timeout: timeout) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// Sends one request line and returns the first reply line as JSON.
    public func request(_ object: [String: Any], timeout: TimeInterval = 10) throws -> [String: Any] {
        try sendJSON(object)
        guard let reply = readJSON(timeout: timeout) else { throw TestSupportError("no reply to \(object)") }
        return reply
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(timeout: TimeInterval = 15, interval: TimeInterval = 0.05,
                       _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
