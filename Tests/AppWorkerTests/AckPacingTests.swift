import Testing

@testable import AppWorker

/// Issue 15: acks paced to one per interval, without holding the first or losing the last.
struct AckPacingTests {
    static let ms: UInt64 = 1_000_000

    @Test func theFirstAckGoesAtOnceAndLaterOnesWaitForTheIntervalThenGoAsOne() {
        var pacing = AckPacing()
        #expect(pacing.acked(1, now: 100 * Self.ms) == .send([1]))
        #expect(pacing.acked(2, now: 101 * Self.ms) == .hold(armTimerAfter: AckPacing.interval - 1 * Self.ms))
        #expect(pacing.acked(3, now: 102 * Self.ms) == .hold(armTimerAfter: nil), "one timer at a time")
        #expect(pacing.timerFired(now: 105 * Self.ms) == 3, "the held acks go as the highest")
        #expect(pacing.timerFired(now: 106 * Self.ms) == nil, "nothing held, nothing sent")
        #expect(pacing.acked(4, now: 111 * Self.ms) == .send([4]), "after a quiet interval: at once")
    }

    @Test func anAckDueBeforeTheTimerSaysWhatWasHeld() {
        var pacing = AckPacing()
        _ = pacing.acked(10, now: 0)
        #expect(pacing.acked(11, now: 1 * Self.ms) == .hold(armTimerAfter: 4 * Self.ms))
        #expect(pacing.acked(12, now: 6 * Self.ms) == .send([12]))
        #expect(pacing.timerFired(now: 6 * Self.ms) == nil, "12 said it")
    }

    @Test func aLongRunOfSeqsIsNotHeldPastTheLimit() {
        var pacing = AckPacing()
        _ = pacing.acked(1, now: 0)
        #expect(pacing.acked(1 + AckPacing.maxHeldSeqs - 1, now: 1) == .hold(armTimerAfter: AckPacing.interval - 1))
        #expect(pacing.acked(1 + AckPacing.maxHeldSeqs, now: 2) == .send([1 + AckPacing.maxHeldSeqs]))
    }

    @Test func aSeqThatDoesNotAdvanceGoesAtOnceAfterWhatIsHeld() {
        var pacing = AckPacing()
        _ = pacing.acked(50, now: 0)
        _ = pacing.acked(51, now: 1 * Self.ms)
        // Another epoch on the same connection starts again at 1: both lines, in order.
        #expect(pacing.acked(1, now: 2 * Self.ms) == .send([51, 1]))
        #expect(pacing.acked(1, now: 3 * Self.ms) == .send([1]), "a replay said again")
        #expect(pacing.acked(2, now: 4 * Self.ms) == .hold(armTimerAfter: nil), "51's timer still runs")
        #expect(pacing.timerFired(now: 6 * Self.ms) == 2)
    }

    @Test func flushSendsWhatIsHeldAndAClockThatWentBackDoesNotHold() {
        var pacing = AckPacing()
        #expect(pacing.flush(now: 0) == nil)
        _ = pacing.acked(7, now: 10 * Self.ms)
        _ = pacing.acked(8, now: 11 * Self.ms)
        #expect(pacing.flush(now: 12 * Self.ms) == 8)
        #expect(pacing.acked(9, now: 1 * Self.ms) == .send([9]))
    }
}
