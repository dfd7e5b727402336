import NIOEmbedded
import NIOPosix
import Shared
import Testing

@testable import AppWorker

/// The inbox hands frames that queued up from one connection to the loop as one input (one
/// commit), in order with everything else that connection and the clocks posted.
struct WorkerInboxTests {
    private static func frames(_ seqs: ClosedRange<UInt64>) -> [InboundFrame] {
        seqs.map { InboundFrame(epoch: "e", seq: $0, at: nil, message: .invalid(id: "m\($0)", reason: "test")) }
    }

    /// The hold's timers run on a real event loop: its windows are real time.
    private static func inbox(holding window: Duration = FrameHold.window) -> WorkerInbox {
        WorkerInbox(timers: MultiThreadedEventLoopGroup.singleton.next(), holdWindow: window)
    }

    private static func seqs(_ input: WorkerInput?) -> [UInt64]? {
        guard case .frames(let frames, _)? = input else { return nil }
        return frames.map(\.seq)
    }

    @Test func queuedFramesOfOneConnectionComeOutAsOneInputInOrderWithTheRest() async {
        let inbox = Self.inbox()
        let first = ReplyChannel(channel: EmbeddedChannel())
        let second = ReplyChannel(channel: EmbeddedChannel())
        inbox.post(.frames(Self.frames(1...3), first))
        inbox.post(.frames(Self.frames(4...5), first))
        inbox.post(.gap(GapFrame(epoch: "e", from: 6, to: 7), first))
        inbox.post(.frames(Self.frames(8...8), first))
        inbox.post(.frames(Self.frames(100...101), second))
        inbox.post(.schedulerEvent(.housekeeping))
        inbox.post(.frames(Self.frames(9...9), first))
        inbox.close()

        var inputs = inbox.stream.makeAsyncIterator()
        #expect(Self.seqs(await inputs.next()) == [1, 2, 3, 4, 5])
        guard case .gap(let gap, _)? = await inputs.next() else {
            Issue.record("the gap keeps its place after the frames before it")
            return
        }
        #expect(gap.gap.from == 6)
        #expect(Self.seqs(await inputs.next()) == [8], "frames of another connection are not merged across")
        #expect(Self.seqs(await inputs.next()) == [100, 101])
        guard case .schedulerEvent? = await inputs.next() else {
            Issue.record("the clock's event keeps its place")
            return
        }
        #expect(Self.seqs(await inputs.next()) == [9])
        #expect(await inputs.next() == nil, "closed and drained")
    }

    @Test func aMergedInputStaysWithinItsBound() async {
        let inbox = Self.inbox()
        let link = ReplyChannel(channel: EmbeddedChannel())
        let chunk = UInt64(WorkerInbox.maxMergedFrames / 2)
        for start in stride(from: UInt64(1), to: 3 * chunk, by: Int(chunk)) {
            inbox.post(.frames(Self.frames(start...(start + chunk - 1)), link))
        }
        inbox.close()
        var inputs = inbox.stream.makeAsyncIterator()
        #expect(Self.seqs(await inputs.next())?.count == WorkerInbox.maxMergedFrames)
        #expect(Self.seqs(await inputs.next())?.count == Int(chunk))
        #expect(await inputs.next() == nil)
    }

    @Test func aWaitingLoopWakesForAPostAndForClose() async {
        let inbox = Self.inbox()
        let link = ReplyChannel(channel: EmbeddedChannel())
        let consumer = Task {
            var seen: [UInt64] = []
            for await input in inbox.stream { seen += Self.seqs(input) ?? [] }
            return seen
        }
        try? await Task.sleep(for: .milliseconds(50))
        inbox.post(.frames(Self.frames(1...2), link))
        try? await Task.sleep(for: .milliseconds(50))
        inbox.post(.frames(Self.frames(3...3), link))
        inbox.close()
        #expect(await consumer.value == [1, 2, 3])
    }

    @Test func aCancelledLoopStopsWaiting() async {
        let inbox = Self.inbox()
        let consumer = Task {
            var count = 0
            for await _ in inbox.stream { count += 1 }
            return count
        }
        try? await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        #expect(await consumer.value == 0)
    }

    // MARK: the hold of quiet frames (`FrameHold`)

    private static func quiet(_ seqs: ClosedRange<UInt64>) -> [InboundFrame] {
        seqs.map { FrameHoldTests.agreement(seq: $0) }
    }

    /// The first input the loop gets, and how long it waited for it.
    private static func firstInput(of inbox: WorkerInbox) async -> (WorkerInput?, Duration) {
        let started = ContinuousClock.now
        var inputs = inbox.stream.makeAsyncIterator()
        let input = await inputs.next()
        return (input, ContinuousClock.now - started)
    }

    @Test func quietFramesWaitOutTheWindowForCompanyAndComeOutAsOneInput() async {
        let window = Duration.milliseconds(300)
        let inbox = Self.inbox(holding: window)
        let link = ReplyChannel(channel: EmbeddedChannel())
        // Queued before the loop asks: the loop parks and starts the timer itself.
        let posted = ContinuousClock.now
        inbox.post(.frames(Self.quiet(1...1), link))
        inbox.post(.frames(Self.quiet(2...3), link))
        let (input, _) = await Self.firstInput(of: inbox)
        let sincePost = ContinuousClock.now - posted
        #expect(Self.seqs(input) == [1, 2, 3])
        #expect(sincePost >= window, "handed out \(sincePost) after the first post, inside the window")
    }

    @Test func quietFramesPostedToAWaitingLoopJoinTheHoldAndComeOutAtTheWindowsEnd() async {
        let window = Duration.seconds(1)
        let inbox = Self.inbox(holding: window)
        let link = ReplyChannel(channel: EmbeddedChannel())
        let consumer = Task { await Self.firstInput(of: inbox) }
        try? await Task.sleep(for: .milliseconds(50))
        // The push starts the timer for a parked loop, and a later quiet frame joins the hold.
        let posted = ContinuousClock.now
        inbox.post(.frames(Self.quiet(1...2), link))
        try? await Task.sleep(for: .milliseconds(20))
        inbox.post(.frames(Self.quiet(3...3), link))
        let (input, _) = await consumer.value
        let sincePost = ContinuousClock.now - posted
        #expect(Self.seqs(input) == [1, 2, 3])
        #expect(sincePost >= window, "handed out \(sincePost) after the first post")
    }

    @Test func aLoudFrameEndsTheHoldAndGoesInTheSameInput() async {
        let inbox = Self.inbox(holding: .seconds(60))
        let link = ReplyChannel(channel: EmbeddedChannel())
        let consumer = Task { await Self.firstInput(of: inbox) }
        inbox.post(.frames(Self.quiet(1...2), link))
        try? await Task.sleep(for: .milliseconds(50))
        inbox.post(.frames([FrameHoldTests.dissent(seq: 3)], link))
        let (input, waited) = await consumer.value
        #expect(Self.seqs(input) == [1, 2, 3])
        #expect(waited < .seconds(30), "the dissent waited for the quiet frames' window")
    }

    @Test func anyOtherInputEndsTheHoldAndKeepsItsPlace() async {
        let link = ReplyChannel(channel: EmbeddedChannel())
        let other = ReplyChannel(channel: EmbeddedChannel())
        let inputs: [(String, WorkerInput)] = [
            ("a clock's event", .schedulerEvent(.housekeeping)),
            ("a gap", .gap(GapFrame(epoch: "e", from: 3, to: 3), link)),
            ("a hello", .hello(link)),
            ("quiet frames of another connection", .frames(Self.quiet(100...100), other)),
        ]
        for (name, input) in inputs {
            let inbox = Self.inbox(holding: .seconds(60))
            let consumer = Task { await Self.firstInput(of: inbox) }
            inbox.post(.frames(Self.quiet(1...2), link))
            try? await Task.sleep(for: .milliseconds(20))
            inbox.post(input)
            let (first, waited) = await consumer.value
            #expect(Self.seqs(first) == [1, 2], "\(name): the held frames come first")
            #expect(waited < .seconds(30), "\(name) waited for the quiet frames' window")
            // Closed, nothing is held: what came in behind is next.
            inbox.close()
            var rest = inbox.stream.makeAsyncIterator()
            #expect(await rest.next() != nil, "\(name) keeps its place")
        }
    }

    @Test func aHoldEndsOnceEnoughFramesWait() async {
        let inbox = Self.inbox(holding: .seconds(60))
        let link = ReplyChannel(channel: EmbeddedChannel())
        let consumer = Task { await Self.firstInput(of: inbox) }
        let held = UInt64(FrameHold.maxHeldFrames)
        for seq in 1...held { inbox.post(.frames(Self.quiet(seq...seq), link)) }
        let (input, waited) = await consumer.value
        #expect(Self.seqs(input) == Array(1...held))
        #expect(waited < .seconds(30), "\(held) frames waited for the window")
    }

    @Test func closeEndsTheHold() async {
        let inbox = Self.inbox(holding: .seconds(60))
        let link = ReplyChannel(channel: EmbeddedChannel())
        let consumer = Task { await Self.firstInput(of: inbox) }
        inbox.post(.frames(Self.quiet(1...1), link))
        try? await Task.sleep(for: .milliseconds(20))
        inbox.close()
        let (input, waited) = await consumer.value
        #expect(Self.seqs(input) == [1])
        #expect(waited < .seconds(30))
    }
}
