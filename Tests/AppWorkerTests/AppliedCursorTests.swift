import Testing

@testable import AppWorker

/// The worker's position in the listener's journal: new frames applied once, replays acknowledged
/// without effect, gaps named with the seq the worker needs.
@Suite struct AppliedCursorTests {
    @Test func aFreshWorkerAppliesTheFirstFrameOfAnyEpoch() {
        let cursor = AppliedCursor(nil)
        #expect(cursor.verdict(epoch: "e1", seq: 1) == .apply)
        #expect(cursor.verdict(epoch: "e1", seq: 7) == .apply, "a new epoch may start anywhere")
    }

    @Test func nextIsAppliedOlderIsReplayedLaterIsAGap() {
        var cursor = AppliedCursor(("e1", 10))
        #expect(cursor.verdict(epoch: "e1", seq: 11) == .apply)
        #expect(cursor.verdict(epoch: "e1", seq: 10) == .replayed)
        #expect(cursor.verdict(epoch: "e1", seq: 3) == .replayed)
        #expect(cursor.verdict(epoch: "e1", seq: 13) == .gap(expected: 11))
        cursor.advance(epoch: "e1", seq: 11)
        #expect(cursor.position?.seq == 11)
        #expect(cursor.verdict(epoch: "e1", seq: 12) == .apply)
    }

    @Test func anotherEpochIsNotJudgedBySeq() {
        var cursor = AppliedCursor(("e1", 10))
        #expect(cursor.verdict(epoch: "e2", seq: 1) == .apply)
        cursor.advance(epoch: "e2", seq: 1)
        #expect(cursor.position?.epoch == "e2" && cursor.position?.seq == 1)
    }
}
