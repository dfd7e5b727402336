import Foundation
import TestSupport
import Testing

/// Issue 15: a real worker holds quiet frames (`FrameHold`) for company, so frames that arrive one
/// by one, a millisecond apart, share commits (guarded Redis scripts) instead of one each; a loud
/// frame behind them is applied with them.
@Suite(.startsProcesses)
struct WorkerFrameHoldTests {
    /// How many `EVAL`s Redis has run (every commit is one guarded script).
    private static func scriptCalls(_ redis: RedisServer) throws -> Int {
        let prefix = "cmdstat_eval:calls="
        let stats = try redis.cli("INFO", "commandstats")
        guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(prefix) }) else {
            return 0
        }
        return Int(line.dropFirst(prefix.count).prefix(while: \.isNumber)) ?? 0
    }

    @Test func quietFramesArrivingOneByOneShareCommitsAndALoudOneEndsTheirWait() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        let socket = try worker.connect()
        func frame(_ seq: Int, status: String) -> [String: Any] {
            deliveryFrame(
                epoch: "ep-hold", seq: seq, source: "left_bracket", type: "health",
                body: ["executor": "ghost-\(seq)", "status": status])
        }
        try socket.sendJSON(frame(1, status: "up"))
        #expect(try eventually(timeout: 10) { try worker.appliedSeq() == 1 })

        let before = try Self.scriptCalls(redis)
        let count = 61
        for seq in 2...count {
            try socket.sendJSON(frame(seq, status: "up"))
            usleep(1000)
        }
        #expect(try eventually(timeout: 10) { try worker.appliedSeq() == count })
        let scripts = try Self.scriptCalls(redis) - before
        // Sixty frames over about 70 ms: a commit each gave 56 to 60 scripts (the release binaries
        // of the previous stop: 59 and 60; a debug build: 56 to 58); held for 5 ms, 15 or 16.
        #expect(scripts <= 25, "\(scripts) scripts for \(count - 1) quiet frames")

        // A quiet frame then a loud one: both applied, the quiet one did not strand.
        try socket.sendJSON(frame(count + 1, status: "up"))
        try socket.sendJSON(frame(count + 2, status: "down"))
        #expect(try eventually(timeout: 10) { try worker.appliedSeq() == count + 2 })
    }
}
