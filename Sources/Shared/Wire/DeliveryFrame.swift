import NIOCore

/// `{"epoch":"…","seq":N,"at":T,"msg":{envelope}}`: one journal record on its way from the listener
/// to the app's worker (DESIGN sections 5 and 10). The listener writes the journaled envelope bytes
/// as they are; the worker reads the line back.
public struct DeliveryFrame: Sendable, Equatable {
    public var epoch: String
    public var seq: UInt64
    /// The listener's accept time (unix ms), the clock of this message's rules. Nil only for records
    /// journaled by a release before accept times (journal format 1): the worker then uses its own.
    public var at: Int64?
    public var msg: JSONValue

    public init(epoch: String, seq: UInt64, at: Int64?, msg: JSONValue) {
        self.epoch = epoch
        self.seq = seq
        self.at = at
        self.msg = msg
    }

    /// Seqs are JSON numbers: above 2^53 a reader in another language could not hold them exactly.
    public static let maxSeq: UInt64 = 9_007_199_254_740_992
    /// Accept times are unix ms from 0 to the end of year 9999: a clock is never negative, and a
    /// bound keeps `at + ttl` and every window computed from it far from Int64's edge.
    public static let atRange: ClosedRange<Int64> = 0...253_402_300_799_999

    /// Writes the frames of one epoch. The prefix is built once per connection, so a frame costs
    /// two copies (the seq's digits and the envelope) and no JSON encoding.
    public struct Writer: Sendable {
        private let prefix: [UInt8]

        public init(epoch: String) {
            prefix = Array("{\"epoch\":\"\(epoch)\",\"seq\":".utf8)
        }

        /// An upper bound of one frame's size, for sizing a batch's buffer.
        public func frameSize(envelopeBytes: Int) -> Int { prefix.count + envelopeBytes + 64 }

        /// The line, newline included; `envelope` is one line of JSON (journaled as validated).
        /// `at` nil (a format-1 record) leaves the key out.
        public func write(seq: UInt64, at: Int64?, envelope: some Collection<UInt8>, into buffer: inout ByteBuffer) {
            buffer.writeBytes(prefix)
            buffer.writeString(String(seq))
            if let at {
                buffer.writeStaticString(",\"at\":")
                buffer.writeString(String(at))
            }
            buffer.writeStaticString(",\"msg\":")
            buffer.writeBytes(envelope)
            buffer.writeStaticString("}\n")
        }
    }

    /// The worker's fast path: a line that is a well-formed frame, parsed with FastJSON (no
    /// Codable). nil for anything else (an op, a malformed line), which the caller then describes.
    public init?(line bytes: some Collection<UInt8>) {
        if let written = bytes.withContiguousStorageIfAvailable({ Self.asWritten(UnsafeRawBufferPointer($0)) }),
            let frame = written
        {
            self = frame
            return
        }
        self.init(anyLayout: bytes)
    }

    /// A frame laid out exactly as `Writer` writes it: the frame's own keys are read in place and
    /// only the envelope is parsed, so no table is built for the frame (a sixth of a worker's
    /// parsing). nil for any other layout, which the general parse then reads.
    private static func asWritten(_ bytes: UnsafeRawBufferPointer) -> DeliveryFrame? {
        guard let (head, envelope) = written(bytes),
            let msg = FastJSON.parse(UnsafeRawBufferPointer(rebasing: bytes[envelope]))
        else { return nil }
        return DeliveryFrame(epoch: head.epoch, seq: head.seq, at: head.at, msg: msg)
    }

    /// A frame's own fields, without its envelope.
    public struct Head: Sendable, Equatable {
        public var epoch: String
        public var seq: UInt64
        public var at: Int64?
    }

    /// The frame's own fields and where its envelope's bytes are, for a frame laid out exactly as
    /// `Writer` writes it (nil for any other layout). The envelope is not looked at.
    public static func written(_ bytes: UnsafeRawBufferPointer) -> (head: Head, envelope: Range<Int>)? {
        var index = 0
        func expect(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }
        /// A JSON integer without sign, fraction, exponent or leading zero, at most 16 digits.
        func integer() -> UInt64? {
            let start = index
            var value: UInt64 = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, index - start < 16 {
                value = value * 10 + UInt64(bytes[index] - 0x30)
                index += 1
            }
            let digits = index - start
            guard digits > 0, !(digits > 1 && bytes[start] == 0x30) else { return nil }
            if index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { return nil }
            return value
        }
        guard expect("{\"epoch\":\"") else { return nil }
        let epochStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"),
            bytes[index] >= 0x20, bytes[index] < 0x80
        {
            index += 1
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), index > epochStart else { return nil }
        let epoch = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[epochStart..<index]), as: UTF8.self)
        index += 1
        guard expect(",\"seq\":"), let seq = integer(), seq >= 1, seq <= maxSeq else { return nil }
        var at: Int64?
        if expect(",\"at\":") {
            guard let time = integer(), time <= UInt64(atRange.upperBound) else { return nil }
            at = Int64(time)
        }
        guard expect(",\"msg\":") else { return nil }
        var end = bytes.count
        while end > index, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end - 1]) { end -= 1 }
        guard end > index, bytes[end - 1] == UInt8(ascii: "}") else { return nil }
        return (Head(epoch: epoch, seq: seq, at: at), index..<(end - 1))
    }

    private init?(anyLayout bytes: some Collection<UInt8>) {
        guard case .object(let fields)? = FastJSON.parse(bytes, integerLiteralsOnly: true), fields["op"] == nil,
            case .string(let epoch)? = fields["epoch"], !epoch.isEmpty,
            case .number(let number)? = fields["seq"], number >= 1, number <= Double(Self.maxSeq),
            let msg = fields["msg"]
        else { return nil }
        var at: Int64?
        if let value = fields["at"] {
            guard case .number(let time) = value, let checked = Self.acceptTime(time) else { return nil }
            at = checked
        }
        self.init(epoch: epoch, seq: UInt64(number), at: at, msg: msg)
    }

    /// `at` as the frame carries it, when it is a whole number of ms inside `atRange`.
    public static func acceptTime(_ value: Double) -> Int64? {
        guard value.isFinite, value == value.rounded(), value >= Double(atRange.lowerBound),
            value <= Double(atRange.upperBound)
        else { return nil }
        return Int64(value)
    }
}

/// `{"op":"…"}`: a question any client may ask a worker socket (DESIGN section 5).
public enum SocketOp: String, Sendable, Codable, CaseIterable {
    case status
    case executors
    /// The newest committed events (a timeline for the status page), oldest first.
    case events
    case ping
    /// The listener's first line on its link: the worker answers `WorkerHello`, where it stands, so
    /// the listener replays from there (a Redis that lost writes, DESIGN section 10).
    case hello
    /// The worker's metrics in the Prometheus text format, as `{"app":…,"metrics":"<text>"}`.
    case metrics
    /// The black- and whitelist with their expiries (`WorkerLists`).
    case lists
    /// `{"op":"why","executor":"e1"}`: the chain that put one executor in its state
    /// (`ExecutorWhy`); the line comes from `WhyQuestion`, as this op names an executor.
    case why

    /// The line, newline included.
    public var line: String { "{\"op\":\"\(rawValue)\"}\n" }
}
