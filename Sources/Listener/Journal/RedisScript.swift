import Crypto

/// A Lua script run by its SHA-1 (EVALSHA), so each call sends a few bytes instead of the whole
/// source; Redis forgets cached scripts on restart and a promoted replica may never have seen
/// them, so a NOSCRIPT answer is followed by the same call as EVAL (which caches it again).
struct RedisScript: Sendable {
    let source: String
    let sha: String

    init(_ source: String) {
        self.source = source
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in Insecure.SHA1.hash(data: Array(source.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        sha = String(decoding: hex, as: UTF8.self)
    }

    /// The call as EVALSHA, or as EVAL when `cached` is false.
    func command(keys: [String], arguments: [[UInt8]], cached: Bool = true) -> [[UInt8]] {
        var command: [[UInt8]] = [
            Array((cached ? "EVALSHA" : "EVAL").utf8), Array((cached ? sha : source).utf8), Array("\(keys.count)".utf8),
        ]
        command.reserveCapacity(command.count + keys.count + arguments.count)
        for key in keys { command.append(Array(key.utf8)) }
        command.append(contentsOf: arguments)
        return command
    }

    func command(keys: [String], arguments: [String], cached: Bool = true) -> [[UInt8]] {
        command(keys: keys, arguments: arguments.map { Array($0.utf8) }, cached: cached)
    }

    /// Redis does not have the script cached: send it again as EVAL.
    static func isMissing(_ message: String) -> Bool { message.hasPrefix("NOSCRIPT") }
}
