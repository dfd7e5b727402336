import NIOCore

/// `{"epoch":"…","seq":N,"msg":{envelope}}`: one journal record on its way from the listener to the
/// app's worker (DESIGN section 5). The listener writes the journaled envelope bytes as they are;
/// the worker reads the line back.
public struct DeliveryFrame: Sendable, Equatable {
    public var epoch: String
    public var seq: UInt64
    public var msg: JSONValue

    public init(epoch: String, seq: UInt64, msg: JSONValue) {
        self.epoch = epoch
        self.seq = seq
        self.msg = msg
    }

    /// Seqs are JSON numbers: above 2^53 a reader in another language could not hold them exactly.
    public static let maxSeq: UInt64 = 9_007_199_254_740_992

    /// Writes the frames of one epoch. The prefix is built once per connection, so a frame costs
    /// two copies (the seq's digits and the envelope) and no JSON encoding.
    public struct Writer: Sendable {
        private let prefix: [UInt8]

        public init(epoch: String) {
            prefix = Array("{\"epoch\":\"\(epoch)\",\"seq\":".utf8)
        }

        /// An upper bound of one frame's size, for sizing a batch's buffer.
        public func frameSize(envelopeBytes: Int) -> Int { prefix.count + envelopeBytes + 32 }

        /// The line, newline included; `envelope` is one line of JSON (journaled as validated).
        public func write(seq: UInt64, envelope: some Collection<UInt8>, into buffer: inout ByteBuffer) {
            buffer.writeBytes(prefix)
            buffer.writeString(String(seq))
            buffer.writeStaticString(",\"msg\":")
            buffer.writeBytes(envelope)
            buffer.writeStaticString("}\n")
        }
    }

    /// The worker's fast path: a line that is a well-formed frame, parsed with FastJSON (no
    /// Codable). nil for anything else (an op, a malformed line), which the caller then describes.
    public init?(line bytes: some Collection<UInt8>) {
        guard case .object(let fields)? = FastJSON.parse(bytes, integerLiteralsOnly: true), fields["op"] == nil,
            case .string(let epoch)? = fields["epoch"], !epoch.isEmpty,
            case .number(let number)? = fields["seq"], number >= 1, number <= Double(Self.maxSeq),
            let msg = fields["msg"]
        else { return nil }
        self.init(epoch: epoch, seq: UInt64(number), msg: msg)
    }
}

/// `{"op":"…"}`: a question any client may ask a worker socket (DESIGN section 5).
public enum SocketOp: String, Sendable, Codable, CaseIterable {
    case status
    case executors
    /// The newest committed events (a timeline for the status page), oldest first.
    case events
    case ping

    /// The line, newline included.
    public var line: String { "{\"op\":\"\(rawValue)\"}\n" }
}
