import Foundation
import Shared

/// A blocking stream socket with one deadline for the whole exchange. mimicctl asks one question
/// and exits, so plain POSIX calls with send/receive timeouts are all it needs, and it stays free
/// of libcurl (FoundationNetworking) in the slim runtime image.
final class StreamSocket {
    enum ConnectError: Error {
        /// Nothing listens there (ECONNREFUSED): for a Unix socket file, a stale socket.
        case refused
        case missing
        case other(String)
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit { close(fd) }

    static func unix(path: String, timeout: TimeInterval) throws(ConnectError) -> StreamSocket {
        do {
            return StreamSocket(fd: try PosixSocket.connect(unixPath: path, timeout: timeout))
        } catch {
            throw error.code == 0 ? .other(error.description) : connectError(error.code)
        }
    }

    static func tcp(host: String, port: Int, timeout: TimeInterval) throws(ConnectError) -> StreamSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .other("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = ConnectError.other("no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            let socket = StreamSocket(fd: fd)
            PosixSocket.setTimeout(fd, timeout)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return socket }
            lastError = connectError(errno)
        }
        throw lastError
    }

    private static func connectError(_ code: Int32) -> ConnectError {
        switch code {
        case ECONNREFUSED: .refused
        case ENOENT: .missing
        case EAGAIN, EINPROGRESS, ETIMEDOUT: .other("timed out")
        default: .other(String(cString: strerror(code)))
        }
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw SocketIOError(errno == EAGAIN ? "timed out writing" : String(cString: strerror(errno))) }
            offset += written
        }
    }

    /// Bytes as they arrive; an empty array means the peer closed. Throws on timeout.
    func readSome() throws -> [UInt8] {
        if !buffer.isEmpty {
            defer { buffer.removeAll() }
            return buffer
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw SocketIOError(errno == EAGAIN ? "timed out waiting for an answer" : String(cString: strerror(errno))) }
            return Array(chunk[..<count])
        }
    }

    /// The next newline-terminated line, or nil when the peer closed first.
    func readLine() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw SocketIOError(errno == EAGAIN ? "timed out waiting for an answer" : String(cString: strerror(errno))) }
            if count == 0 { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

struct SocketIOError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
