import NIOEmbedded
import Shared
import Testing

@testable import AppWorker

/// The inbox hands frames that queued up from one connection to the loop as one input (one
/// commit), in order with everything else that connection and the clocks posted.
struct WorkerInboxTests {
    private static func frames(_ seqs: ClosedRange<UInt64>) -> [InboundFrame] {
        seqs.map { InboundFrame(epoch: "e", seq: $0, at: nil, message: .invalid(id: "m\($0)", reason: "test")) }
    }

    private static func seqs(_ input: WorkerInput?) -> [UInt64]? {
        guard case .frames(let frames, _)? = input else { return nil }
        return frames.map(\.seq)
    }

    @Test func queuedFramesOfOneConnectionComeOutAsOneInputInOrderWithTheRest() async {
        let inbox = WorkerInbox()
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
        let inbox = WorkerInbox()
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
        let inbox = WorkerInbox()
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
        let inbox = WorkerInbox()
        let consumer = Task {
            var count = 0
            for await _ in inbox.stream { count += 1 }
            return count
        }
        try? await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        #expect(await consumer.value == 0)
    }
}
