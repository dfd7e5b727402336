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
    /// Consecutive frames of one connection are handed out as one input of at most this many:
    /// enough to spread a commit's round trip thin, few enough that deciding one input stays
    /// near 5 ms (2048 made a restarted worker's first ack and the trigger's tail wait longer).
    static let maxMergedFrames = 256

    private let queue: InputQueue
    private let gate: FrameGate

    /// Frames waiting past `frameLimit` stop the socket reads (NIO autoRead off) until the loop
    /// has worked the backlog down to half of it: during a Redis outage the kernel's socket
    /// buffers and the listener's journal hold the rest, not this process's memory.
    /// `timers` runs the timer that ends a hold of quiet frames: the worker's socket loop, awake
    /// for the frames anyway (a `Task.sleep` cost three thread wakeups per hold, on Dispatch's
    /// and the task pool's threads). `holdWindow` is `FrameHold.window`; tests make it long or
    /// short to see the hold's edges.
    init(frameLimit: Int = 10_000, timers: any EventLoop, holdWindow: Duration = FrameHold.window) {
        queue = InputQueue(timers: timers, holdWindow: holdWindow)
        gate = FrameGate(limit: max(1, frameLimit))
    }

    /// The inputs in arrival order. Frames that queued up from one connection while the loop was
    /// committing come out as one input, so one commit (one Redis round trip) takes them all:
    /// otherwise a sender that writes small chunks costs a commit per socket read, and the loop
    /// falls behind exactly when it is busiest. Quiet frames (`FrameHold`) are handed out only once
    /// the oldest has waited `FrameHold.window` or `FrameHold.maxHeldFrames` wait, or sooner when
    /// anything else comes in behind them.
    var stream: Inputs { Inputs(queue: queue) }

    func post(_ input: WorkerInput) {
        var quiet = false
        if case .frames(let frames, _) = input {
            gate.add(frames.count)
            quiet = FrameHold.isQuiet(frames)
        }
        queue.push(input, quiet: quiet)
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
        queue.close()
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

extension WorkerInbox {
    struct Inputs: AsyncSequence, Sendable {
        fileprivate let queue: InputQueue

        func makeAsyncIterator() -> Iterator { Iterator(queue: queue) }

        struct Iterator: AsyncIteratorProtocol {
            fileprivate let queue: InputQueue

            mutating func next() async -> WorkerInput? { await queue.next() }
        }
    }
}

/// The inbox's queue: many producers (socket handlers, clocks, the actuator), one consumer (it
/// holds a single waiter).
private final class InputQueue: Sendable {
    private struct Queued {
        var input: WorkerInput
        /// Frames that may wait for company (`FrameHold`).
        var quiet: Bool
        var at: ContinuousClock.Instant
    }

    private struct State {
        let holdWindow: Duration
        var items: [Queued] = []
        var head = 0
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
        /// The hold a timer is running for: a quiet frame that joins the hold neither wakes the
        /// loop nor starts another timer.
        var timerFor: ContinuousClock.Instant?

        /// When the queued inputs are quiet frames of one connection, fewer than
        /// `FrameHold.maxHeldFrames`, and the oldest has waited less than the window: the end of
        /// its wait.
        func holdEnd(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
            guard !closed, head < items.count, items[head].quiet,
                case .frames(_, let reply) = items[head].input
            else { return nil }
            let end = items[head].at + holdWindow
            guard now < end else { return nil }
            var count = 0
            for item in items[head...] {
                guard item.quiet, case .frames(let frames, let next) = item.input, next.channel === reply.channel
                else { return nil }
                count += frames.count
                if count >= FrameHold.maxHeldFrames { return nil }
            }
            return end
        }

        /// The next input, with the frames right behind it from the same connection merged in;
        /// nil when nothing is queued.
        mutating func take() -> WorkerInput? {
            guard head < items.count else { return nil }
            var input = items[head].input
            head += 1
            if case .frames(var frames, let reply) = input {
                while head < items.count, case .frames(let more, let next) = items[head].input,
                    next.channel === reply.channel,
                    frames.count + more.count <= WorkerInbox.maxMergedFrames
                {
                    frames.append(contentsOf: more)
                    head += 1
                }
                input = .frames(frames, reply)
            }
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return input
        }

        /// The loop waits with `continuation`: true when it must not (something is ready, or the
        /// queue is closed); the hold's end when a timer must be started for it.
        mutating func park(
            _ continuation: CheckedContinuation<Void, Never>, now: ContinuousClock.Instant
        ) -> (ready: Bool, startTimer: ContinuousClock.Instant?) {
            if closed || Task.isCancelled { return (true, nil) }
            guard head < items.count else {
                waiter = continuation
                return (false, nil)
            }
            guard let end = holdEnd(now: now) else { return (true, nil) }
            waiter = continuation
            return (false, armTimer(for: end))
        }

        mutating func armTimer(for end: ContinuousClock.Instant) -> ContinuousClock.Instant? {
            guard timerFor != end else { return nil }
            timerFor = end
            return end
        }
    }

    private let state: NIOLockedValueBox<State>
    private let timers: any EventLoop

    init(timers: any EventLoop, holdWindow: Duration) {
        self.timers = timers
        state = NIOLockedValueBox(State(holdWindow: holdWindow))
    }

    func push(_ input: WorkerInput, quiet: Bool) {
        let now = ContinuousClock.now
        let (waiter, timer) = state.withLockedValue {
            state -> (CheckedContinuation<Void, Never>?, ContinuousClock.Instant?) in
            guard !state.closed else { return (nil, nil) }
            state.items.append(Queued(input: input, quiet: quiet, at: now))
            guard state.waiter != nil else { return (nil, nil) }
            if let end = state.holdEnd(now: now) { return (nil, state.armTimer(for: end)) }
            defer { state.waiter = nil }
            return (state.waiter, nil)
        }
        waiter?.resume()
        if let timer { startTimer(until: timer) }
    }

    /// Inputs queued before `close` are still handed out, without holding; then nil.
    func close() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func next() async -> WorkerInput? {
        while true {
            let now = ContinuousClock.now
            let (input, finished) = state.withLockedValue { state -> (WorkerInput?, Bool) in
                // A cancelled loop takes what is queued at once.
                if !Task.isCancelled, state.holdEnd(now: now) != nil { return (nil, false) }
                let input = state.take()
                return (input, input == nil && state.closed)
            }
            if let input { return input }
            if finished || Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let (ready, timer) = state.withLockedValue { $0.park(continuation, now: .now) }
                    if ready { continuation.resume() }
                    if let timer { startTimer(until: timer) }
                }
            } onCancel: {
                let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }

    /// Wakes the loop when the hold that started this timer ends; a timer of a hold that ended
    /// sooner (something came in behind it) does nothing.
    private func startTimer(until end: ContinuousClock.Instant) {
        let delay = max(.zero, end - .now)
        timers.scheduleTask(in: TimeAmount(delay)) { [state] in
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                guard state.timerFor == end else { return nil }
                state.timerFor = nil
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
