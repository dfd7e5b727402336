import Foundation

/// `{"hello":{"epoch":"…","seq":N}}`: the worker's answer to `{"op":"hello"}`, the first line of the
/// listener's link (DESIGN section 10): the (epoch, seq) of `mimic:{app}:applied`, or `epoch` null
/// and `seq` 0 when nothing was applied yet. The listener replays its journal from `seq + 1` when
/// `epoch` is its own, even records it had seen acknowledged: Redis may have lost them.
public struct WorkerHello: Sendable, Equatable, Codable {
    public struct Position: Sendable, Equatable, Codable {
        public var epoch: String?
        public var seq: UInt64
        public init(epoch: String?, seq: UInt64) {
            self.epoch = epoch
            self.seq = seq
        }
    }

    public var hello: Position

    public init(epoch: String?, seq: UInt64) {
        hello = Position(epoch: epoch, seq: seq)
    }

    /// The line, newline included.
    public var line: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data("{\"hello\":{\"seq\":0}}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    public static func parse(_ bytes: some Collection<UInt8>) -> WorkerHello? {
        try? JSONDecoder().decode(WorkerHello.self, from: Data(bytes))
    }
}

/// `{"gap":{"epoch":"…","from":A,"to":B}}`: from the listener to the worker, before frame B + 1:
/// records A…B of the epoch are gone from the journal (older than `journal_retain`) and will never
/// be delivered. The worker records the skip (an event `kind=gap`, a count in status) and moves its
/// applied seq to B, so the app goes on instead of stalling on the hole (DESIGN section 10).
/// `"void":true` marks seqs the listener voided itself (the part of a multi-app request whose other
/// part no journal could take, answered 503 and retried by its sender): skipped the same way, but
/// nothing was lost, so they are not counted as skipped.
public struct GapFrame: Sendable, Equatable, Codable {
    public struct Range: Sendable, Equatable, Codable {
        public var epoch: String
        public var from: UInt64
        public var to: UInt64
        public var void: Bool?
    }

    public var gap: Range

    public init(epoch: String, from: UInt64, to: UInt64, void: Bool = false) {
        gap = Range(epoch: epoch, from: from, to: to, void: void ? true : nil)
    }

    public var isVoid: Bool { gap.void == true }

    public var skipped: UInt64 { gap.to >= gap.from ? gap.to - gap.from + 1 : 0 }

    /// The line, newline included.
    public var line: String {
        "{\"gap\":{\"epoch\":\"\(gap.epoch)\",\"from\":\(gap.from),\"to\":\(gap.to)\(isVoid ? ",\"void\":true" : "")}}\n"
    }

    /// Nil unless the line is a gap whose range is in order and inside the seq range frames use.
    public static func parse(_ bytes: some Collection<UInt8>) -> GapFrame? {
        guard let frame = try? JSONDecoder().decode(GapFrame.self, from: Data(bytes)), !frame.gap.epoch.isEmpty,
            frame.gap.from >= 1, frame.gap.from <= frame.gap.to, frame.gap.to <= DeliveryFrame.maxSeq
        else { return nil }
        return frame
    }
}
