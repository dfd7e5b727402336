import NIOConcurrencyHelpers
import NIOCore
import Scheduling
import Shared
import Synchronization

/// Everything the scheduler loop reacts to, in arrival order, consumed by one task only so the
/// executor pool never needs a lock.
enum WorkerInput: Sendable {
    case frames([InboundFrame], ReplyChannel)
    /// Seqs the listener will never deliver; in order with the frames of the same connection.
    case gap(GapFrame, ReplyChannel)
    /// The listener asks where the worker stands before it sends frames (DESIGN section 10).
    case hello(ReplyChannel)
    case schedulerEvent(SchedulerEvent)
    /// A forensics capture ended: its event is committed; the pool is not involved.
    case forensics(CaptureOutcome)
}

struct WorkerInbox: Sendable {
    let stream: AsyncStream<WorkerInput>
    private let continuation: AsyncStream<WorkerInput>.Continuation
    private let gate: FrameGate

    /// Frames waiting past `frameLimit` stop the socket reads (NIO autoRead off) until the loop
    /// has worked the backlog down to half of it: during a Redis outage the kernel's socket
    /// buffers and the listener's journal hold the rest, not this process's memory.
    init(frameLimit: Int = 10_000) {
        (stream, continuation) = AsyncStream.makeStream(of: WorkerInput.self)
        gate = FrameGate(limit: max(1, frameLimit))
    }

    func post(_ input: WorkerInput) {
        if case .frames(let frames, _) = input { gate.add(frames.count) }
        continuation.yield(input)
    }

    /// Called by the loop once a batch of frames is handled (committed and acknowledged or refused).
    func consumed(_ count: Int) {
        gate.remove(count)
    }

    /// Turns reading off on `channel` while too many frames wait; it is turned on again when the
    /// backlog is down to half the limit.
    func throttle(_ channel: any Channel) {
        gate.throttle(channel)
    }

    func close() {
        continuation.finish()
    }

    /// Frames up to `seq` keep their line (for the dead-letter stream): only those of the range the
    /// previous process died in, so the hot path copies nothing.
    func keepLines(through seq: UInt64) {
        gate.keepLinesThrough.store(seq, ordering: .relaxed)
    }

    func keepsLine(of seq: UInt64) -> Bool {
        seq <= gate.keepLinesThrough.load(ordering: .relaxed)
    }
}

private final class FrameGate: Sendable {
    private struct State {
        var pending = 0
        var paused: [ObjectIdentifier: any Channel] = [:]
    }
    let limit: Int
    private let state = NIOLockedValueBox(State())
    /// See `WorkerInbox.keepLines`; here because the inbox is a copyable value.
    let keepLinesThrough = Atomic<UInt64>(0)

    init(limit: Int) {
        self.limit = limit
    }

    func add(_ count: Int) {
        state.withLockedValue { $0.pending += count }
    }

    func remove(_ count: Int) {
        let resumed: [any Channel] = state.withLockedValue { state in
            state.pending = max(0, state.pending - count)
            guard state.pending <= limit / 2, !state.paused.isEmpty else { return [] }
            defer { state.paused.removeAll() }
            return Array(state.paused.values)
        }
        for channel in resumed {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in
                channel.read()
            }
        }
    }

    func throttle(_ channel: any Channel) {
        let pause = state.withLockedValue { state -> Bool in
            guard state.pending > limit, state.paused[ObjectIdentifier(channel)] == nil else { return false }
            state.paused[ObjectIdentifier(channel)] = channel
            return true
        }
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }
}
