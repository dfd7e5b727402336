import Foundation
import NIOCore
import Shared
import Synchronization

/// One connection's acks, paced by `AckPacing`: called from the scheduler loop's thread after each
/// commit; a held ack goes from the connection's event loop when its timer runs out.
final class AckPacer: Sendable {
    private let channel: any Channel
    private let pacing = Mutex(AckPacing())

    init(channel: any Channel) { self.channel = channel }

    func ack(_ seq: UInt64) {
        switch pacing.withLock({ $0.acked(seq, now: Self.now()) }) {
        case .send(let seqs):
            for seq in seqs { write(seq) }
        case .hold(let after?):
            channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(after))) { [self] in
                if let seq = pacing.withLock({ $0.timerFired(now: Self.now()) }) { write(seq) }
            }
        case .hold(nil):
            break
        }
    }

    /// Sends what is held at once (the worker is stopping).
    func flush() {
        if let seq = pacing.withLock({ $0.flush(now: Self.now()) }) { write(seq) }
    }

    private func write(_ seq: UInt64) {
        var buffer = channel.allocator.buffer(capacity: 24)
        AckFrame(seq: seq).write(into: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
