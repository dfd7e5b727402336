import Testing

@testable import Listener

@Suite struct AckCursorTests {
    let start = ContinuousClock.now

    func segment(_ first: UInt64, _ last: UInt64) -> JournalSegment {
        JournalSegment(firstSeq: first, path: "/j/\(first).seg", lastSeq: last, size: 1)
    }

    @Test func writesOnlyWhenTheAckMoved() {
        let cursor = AckCursor(persisted: 10, now: start)
        #expect(!cursor.isDue(acked: 10, now: start + .seconds(5), idle: true, stopping: true))
        #expect(cursor.isDue(acked: 11, now: start, idle: true, stopping: false))
    }

    @Test func whileBusyWritesAtMostEveryInterval() {
        var cursor = AckCursor(persisted: 0, now: start)
        #expect(!cursor.isDue(acked: 5, now: start + .milliseconds(150), idle: false, stopping: false))
        #expect(cursor.isDue(acked: 5, now: start + .milliseconds(201), idle: false, stopping: false))
        cursor.wrote(5, at: start + .milliseconds(201))
        #expect(cursor.persisted == 5)
        #expect(!cursor.isDue(acked: 9, now: start + .milliseconds(300), idle: false, stopping: false))
        // Idle or stopping: at once.
        #expect(cursor.isDue(acked: 9, now: start + .milliseconds(300), idle: true, stopping: false))
        #expect(cursor.isDue(acked: 9, now: start + .milliseconds(300), idle: false, stopping: true))
    }

    @Test func releasesWhollyAcknowledgedSegmentsButNeverTheActiveOne() {
        let segments = [segment(1, 10), segment(11, 20), segment(21, 25)]
        #expect(AckCursor.releasable(segments, acked: 0) == 0)
        #expect(AckCursor.releasable(segments, acked: 9) == 0)
        #expect(AckCursor.releasable(segments, acked: 10) == 1)
        #expect(AckCursor.releasable(segments, acked: 19) == 1)
        #expect(AckCursor.releasable(segments, acked: 20) == 2)
        #expect(AckCursor.releasable(segments, acked: 1_000) == 2)
        #expect(AckCursor.releasable([segment(1, 10)], acked: 1_000) == 0)
        #expect(AckCursor.releasable([], acked: 1_000) == 0)
    }
}
