import NIOCore

/// `{"ack":N}`: the worker's cumulative acknowledgement on the app socket (DESIGN section 5):
/// every frame up to seq N of the current epoch has taken effect in Redis.
public struct AckFrame: Sendable, Equatable {
    public var seq: UInt64

    public init(seq: UInt64) { self.seq = seq }

    /// The line, newline included.
    public var line: String { "{\"ack\":\(seq)}\n" }

    public func write(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"ack\":")
        buffer.writeString(String(seq))
        buffer.writeStaticString("}\n")
    }

    /// Reads a line the worker wrote. The listener reads one per commit, so this is a scan for the
    /// `"ack"` key and its digits rather than a JSON parse; any other line (an error answer) is nil.
    /// More than 19 digits is not a seq: nil rather than a wrapped number.
    public static func parse(_ bytes: some Collection<UInt8>) -> AckFrame? {
        let key: [UInt8] = Array("\"ack\"".utf8)
        var iterator = bytes.makeIterator()
        var matched = 0
        while matched < key.count {
            guard let byte = iterator.next() else { return nil }
            matched = byte == key[matched] ? matched + 1 : (byte == key[0] ? 1 : 0)
        }
        var value: UInt64 = 0
        var digits = 0
        while let byte = iterator.next() {
            if digits == 0, byte == 0x20 || byte == UInt8(ascii: ":") { continue }
            guard byte >= 0x30, byte <= 0x39 else { break }
            guard digits < 19 else { return nil }
            value = value * 10 + UInt64(byte - 0x30)
            digits += 1
        }
        return digits > 0 ? AckFrame(seq: value) : nil
    }
}
