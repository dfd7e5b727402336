import Foundation
import Shared

/// A RESP reply, as much of it as the bench reads.
indirect enum RespValue: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk(String?)
    case array([RespValue])

    var string: String? {
        switch self {
        case .simple(let text): text
        case .bulk(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    var array: [RespValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

/// A minimal blocking Redis connection for the bench's probes and its subscriber. The project's
/// `RedisClient` is async and hops through its own owner thread; the latency subscriber must
/// timestamp a publish on the thread that read it, so the bench speaks RESP on a blocking socket.
final class RespConnection: @unchecked Sendable {
    private let socket: LineSocket

    init(port: Int, db: Int = 0) throws {
        socket = try LineSocket(loopbackPort: port)
        socket.setReceiveTimeout(10)
        if db != 0 { _ = try command(["SELECT", String(db)]) }
    }

    @discardableResult
    func command(_ arguments: [String]) throws -> RespValue {
        try send(arguments)
        let reply = try read()
        if case .error(let message) = reply { throw BenchFailure("redis: \(message)") }
        return reply
    }

    func send(_ arguments: [String]) throws {
        var out = "*\(arguments.count)\r\n"
        for argument in arguments { out += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
        try socket.write(out)
    }

    /// The next reply or pushed message; throws on EOF or timeout.
    func read() throws -> RespValue {
        guard let line = try socket.readLine() else { throw BenchFailure("redis connection closed") }
        let body = String(line.dropFirst().dropLast(line.hasSuffix("\r") ? 1 : 0))
        switch line.first {
        case "+": return .simple(body)
        case "-": return .error(body)
        case ":": return .integer(Int(body) ?? 0)
        case "$":
            let length = Int(body) ?? -1
            if length < 0 { return .bulk(nil) }
            let bytes = try socket.read(exactly: length + 2)
            return .bulk(String(decoding: bytes.dropLast(2), as: UTF8.self))
        case "*":
            let count = Int(body) ?? -1
            if count < 0 { return .array([]) }
            return .array(try (0..<count).map { _ in try read() })
        default:
            throw BenchFailure("redis: unexpected reply line \(line)")
        }
    }

    func setReceiveTimeout(_ timeout: TimeInterval) { socket.setReceiveTimeout(timeout) }
}
