import Foundation
import Shared
import TestSupport

/// A bare TCP connection for the bad-input tests: sends bytes exactly as given (half a header, raw
/// garbage), and tells a closed connection from a quiet one.
final class RawTCP {
    let fd: Int32

    init(port: Int) throws(SocketFailure) {
        fd = try PosixSocket.connect(to: PosixSocket.loopback(port: port))
    }

    deinit { close(fd) }

    /// False once the peer has closed (MSG_NOSIGNAL: a closed peer must not SIGPIPE the test runner).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Everything the peer sends until it closes or `timeout` passes; `closed` tells which.
    func drain(timeout: TimeInterval) -> (text: String, closed: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var received: [UInt8] = []
        while deadline.timeIntervalSinceNow > 0 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, min(deadline.timeIntervalSinceNow, 0.2) * 1000))) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received.append(contentsOf: chunk[..<count])
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// The HTTP status of the first response in `text`, or nil.
    static func httpStatus(_ text: String) -> Int? {
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }
}
