import Foundation
import Testing

@testable import AppWorker

/// Which frame the previous worker died on, from its attempt record and what Redis says it applied.
@Suite struct FrameAttemptsTests {
    typealias Record = FrameAttempts.Record

    @Test func aCommittedAttemptSuspectsNothing() {
        let record = Record(epoch: "e", from: 1, to: 10, deaths: 0, phase: .deciding)
        let attempts = FrameAttempts(resuming: record, applied: ("e", 10))
        #expect(attempts == FrameAttempts())
        #expect(!attempts.isCareful(epoch: "e", seq: 11))
        #expect(FrameAttempts(resuming: nil, applied: nil) == FrameAttempts())
    }

    @Test func aDeathWhileDecidingABatchMakesItsFramesGoOneByOne() {
        let record = Record(epoch: "e", from: 5, to: 9, deaths: 0, phase: .deciding)
        let attempts = FrameAttempts(resuming: record, applied: ("e", 4))
        #expect(attempts.suspect == 5 && attempts.deaths == 1 && attempts.through == 9)
        #expect(attempts.isCareful(epoch: "e", seq: 9) && !attempts.isCareful(epoch: "e", seq: 10))
        #expect(!attempts.isCareful(epoch: "other", seq: 5))
        #expect(!attempts.isDeadLetter(epoch: "e", seq: 5))
        var progressed = attempts
        progressed.applied(epoch: "e", through: 7)
        #expect(progressed.isCareful(epoch: "e", seq: 8), "careful until the range the process died in is applied")
        progressed.applied(epoch: "e", through: 9)
        #expect(progressed == FrameAttempts())
    }

    @Test func threeDeathsOnOneFrameDeadLetterIt() {
        var attempts = FrameAttempts(
            resuming: Record(epoch: "e", from: 5, to: 9, deaths: 0, phase: .deciding), applied: ("e", 4))
        for death in 2...3 {
            let record = attempts.attempt(epoch: "e", from: 5, to: 5)
            #expect(record.deaths == death - 1, "the suspect carries its own count")
            attempts = FrameAttempts(resuming: record, applied: ("e", 4))
            #expect(attempts.deaths == death)
        }
        #expect(attempts.isDeadLetter(epoch: "e", seq: 5))
        #expect(!attempts.isDeadLetter(epoch: "e", seq: 6))
        // Dying alone narrowed the careful range to that frame; the rest goes as a batch again
        // (if it holds another such frame, that batch's death starts the count for it).
        #expect(!attempts.isCareful(epoch: "e", seq: 6))
        attempts.applied(epoch: "e", through: 5)
        #expect(attempts == FrameAttempts())
    }

    @Test func aDeathWhileCommittingIsNotTheFramesDoing() {
        let record = Record(epoch: "e", from: 5, to: 5, deaths: 2, phase: .committing)
        let attempts = FrameAttempts(resuming: record, applied: ("e", 4))
        #expect(attempts.deaths == 2 && attempts.isCareful(epoch: "e", seq: 5))
        #expect(!attempts.isDeadLetter(epoch: "e", seq: 5))
    }

    @Test func aFrameOfTheRangeThatDiesAloneCountsTheBatchsDeathToo() {
        // Seq 5 went through alone; the process then died on 6 alone: 6 was in the batch that died.
        let careful = FrameAttempts(
            resuming: Record(epoch: "e", from: 5, to: 9, deaths: 0, phase: .deciding), applied: ("e", 4))
        let record = careful.attempt(epoch: "e", from: 6, to: 6)
        #expect(record.deaths == 1)
        let attempts = FrameAttempts(resuming: record, applied: ("e", 5))
        #expect(attempts.suspect == 6 && attempts.deaths == 2)
        // Outside the range a frame starts from nothing.
        #expect(careful.attempt(epoch: "e", from: 10, to: 10).deaths == 0)
        #expect(careful.attempt(epoch: "e", from: 6, to: 9).deaths == 0)
    }

    @Test func nonsenseRecordsSuspectNothing() {
        #expect(
            FrameAttempts(resuming: Record(epoch: "e", from: 9, to: 5, deaths: 1, phase: .deciding), applied: nil)
                == FrameAttempts())
        #expect(
            FrameAttempts(resuming: Record(epoch: "e", from: 0, to: 5, deaths: 1, phase: .deciding), applied: nil)
                == FrameAttempts())
    }

    @Test func theFileReadsBackWhatWasWrittenAndIgnoresGarbage() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attempt-\(UUID().uuidString)").path
        defer { unlink(path) }
        let file = try #require(AttemptFile(path: path))
        #expect(file.read() == nil)
        let long = Record(
            epoch: String(repeating: "a", count: 32), from: 9_007_199_254_740_992, to: 9_007_199_254_740_992, deaths: 3,
            phase: .committing)
        #expect(file.write(long))
        #expect(file.read() == long)
        let short = Record(epoch: "e", from: 1, to: 2, deaths: 0, phase: .deciding)
        #expect(file.write(short))
        #expect(AttemptFile(path: path)?.read() == short, "a shorter record leaves nothing of the longer one")
        #expect(!file.write(Record(epoch: "a b", from: 1, to: 1, deaths: 0, phase: .deciding)))
        #expect(!file.write(Record(epoch: "a\nb", from: 1, to: 1, deaths: 0, phase: .deciding)))
        try "attempt1 e x 2 0 deciding\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(AttemptFile(path: path)?.read() == nil)
    }
}
