import Foundation
import Shared

/// One line read from the app socket: an operator/status request or a delivery frame.
enum InboundLine: Sendable {
    case op(SocketOp)
    /// `{"op":"why","executor":…}`, with an id that passed `ExecutorID.isValid`.
    case why(executor: String)
    case frame(InboundFrame)
    /// Seqs the listener will never deliver (DESIGN section 10).
    case gap(GapFrame)
    /// Unusable line; `seq` is echoed in the error reply when the line had one.
    case malformed(seq: UInt64?, reason: String)

    private static let decoder = JSONDecoder()

    static func parse(_ bytes: some Collection<UInt8>) -> InboundLine {
        if let frame = fastFrame(bytes) { return .frame(frame) }
        if let gap = GapFrame.parse(bytes) { return .gap(gap) }
        let raw: RawLine
        do {
            raw = try decoder.decode(RawLine.self, from: Data(bytes))
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            return .malformed(seq: nil, reason: "not a JSON object: invalid JSON")
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            return .malformed(seq: nil, reason: "not a JSON object: a line must be one object")
        } catch {
            return .malformed(seq: nil, reason: "not a frame: \(Self.describe(error))")
        }
        if let op = raw.op {
            guard let known = SocketOp(rawValue: op) else {
                let known = SocketOp.allCases.map(\.rawValue).joined(separator: ", ")
                return .malformed(seq: nil, reason: "unknown op '\(op)' (expected one of \(known))")
            }
            if known == .why {
                guard let executor = raw.executor, ExecutorID.isValid(executor) else {
                    return .malformed(
                        seq: nil, reason: "op why needs \"executor\": an executor id ([a-z0-9-]{1,48})")
                }
                return .why(executor: executor)
            }
            return .op(known)
        }
        guard let epoch = raw.epoch, !epoch.isEmpty, let seq = raw.seq, seq >= 1 else {
            return .malformed(seq: raw.seq, reason: "a frame needs epoch (string) and seq (integer >= 1)")
        }
        guard let message = raw.msg else {
            return .malformed(seq: seq, reason: "a frame needs msg (the envelope)")
        }
        if let at = raw.at, !DeliveryFrame.atRange.contains(at) {
            return .malformed(
                seq: seq,
                reason: "at: \(at) is not an accept time (unix ms from \(DeliveryFrame.atRange.lowerBound) "
                    + "to \(DeliveryFrame.atRange.upperBound))")
        }
        return .frame(InboundFrame(epoch: epoch, seq: seq, at: raw.at, message: message.checked))
    }

    /// A delivery frame that parses completely on FastJSON's path (no Codable: JSON decoding was
    /// ~80% of the worker's CPU, see BENCHMARKS.md); nil sends the line down the JSONDecoder path,
    /// so ops, malformed lines and invalid envelopes get answers that name what is wrong.
    private static func fastFrame(_ bytes: some Collection<UInt8>) -> InboundFrame? {
        if let scanned = bytes.withContiguousStorageIfAvailable({ scannedFrame(UnsafeRawBufferPointer($0)) }),
            let frame = scanned
        {
            return frame
        }
        guard let frame = DeliveryFrame(line: bytes), let envelope = Envelope(json: frame.msg) else { return nil }
        let checked: CheckedMessage
        do {
            checked = .valid(ValidEnvelope(envelope), try envelope.validated())
        } catch {
            checked = .invalid(id: envelope.id, reason: error.message)
        }
        return InboundFrame(epoch: frame.epoch, seq: frame.seq, at: frame.at, message: checked)
    }

    /// The plain case: a frame as the listener writes it around an envelope `EnvelopeScan` reads
    /// without tables (issue 15). Its checks are the general path's; nil sends the line there.
    private static func scannedFrame(_ bytes: UnsafeRawBufferPointer) -> InboundFrame? {
        guard let (head, range) = DeliveryFrame.written(bytes) else { return nil }
        let envelope = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard let scan = EnvelopeScan.scan(envelope) else { return nil }
        let checked: CheckedMessage
        do {
            checked = .valid(ValidEnvelope(scan, bytes: Array(envelope)), try Envelope.validated(scan))
        } catch {
            checked = .invalid(id: scan.id, reason: error.message)
        }
        return InboundFrame(epoch: head.epoch, seq: head.seq, at: head.at, message: checked)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "invalid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map(\.stringValue).joined(separator: ".")
    }
}

struct InboundFrame: Sendable {
    var epoch: String
    var seq: UInt64
    /// The listener's accept time, the clock of this message's rules; nil for a record of journal
    /// format 1 (the worker's clock then).
    var at: Int64?
    var message: CheckedMessage
    /// The line as received, kept (copied) only for frames of the range the previous process died
    /// in, for the dead-letter stream (see `WorkerInbox.keepLines`).
    var line: [UInt8]? = nil
}

/// A frame's envelope after validation. An invalid one still occupies its seq: it is recorded as
/// a rejected message so the stream of seqs never stalls on it.
enum CheckedMessage: Sendable {
    case valid(ValidEnvelope, MessageBody)
    case invalid(id: String?, reason: String)
}

/// A valid message's envelope: what the rules and metrics read, and the whole envelope for the
/// why-memory, parsed only for the few messages it keeps (a scanned envelope keeps its bytes).
struct ValidEnvelope: Sendable {
    var id: String
    var app: String?
    var source: Source
    var type: MessageType
    private var whole: Whole

    private enum Whole: Sendable {
        case parsed(Envelope)
        case bytes([UInt8])
    }

    init(_ envelope: Envelope) {
        (id, app, source, type) = (envelope.id, envelope.app, envelope.source, envelope.type)
        whole = .parsed(envelope)
    }

    init(_ scan: EnvelopeScan, bytes: [UInt8]) {
        (id, app, source, type) = (scan.id, scan.app, scan.source, scan.type)
        whole = .bytes(bytes)
    }

    /// The size of the kept bytes; nil for a parsed envelope.
    var byteCount: Int? {
        if case .bytes(let bytes) = whole { return bytes.count }
        return nil
    }

    /// The envelope as sent (nil only if bytes the scan read could not be parsed again, which
    /// `EnvelopeScanTests` rule out).
    var envelope: Envelope? {
        switch whole {
        case .parsed(let envelope): envelope
        case .bytes(let bytes): FastJSON.parse(bytes).flatMap(Envelope.init(json:))
        }
    }
}

private struct RawLine: Decodable {
    var op: String?
    var executor: String?
    var epoch: String?
    var seq: UInt64?
    var at: Int64?
    var msg: LenientEnvelope?
}

private struct LenientEnvelope: Decodable {
    var checked: CheckedMessage

    private enum Keys: String, CodingKey { case id }

    init(from decoder: any Decoder) throws {
        do {
            let envelope = try Envelope(from: decoder)
            do {
                checked = .valid(ValidEnvelope(envelope), try envelope.validated())
            } catch {
                checked = .invalid(id: envelope.id, reason: error.message)
            }
        } catch {
            let id = try? decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .id)
            checked = .invalid(id: id, reason: InboundLine.describe(error))
        }
    }
}
