import Foundation
import TestSupport
import Testing

/// Issue 15: a real worker paces its acks (`AckPacing`): frames that arrive one by one, each its
/// own commit, are acknowledged with far fewer lines than commits, the first at once and the
/// last within the interval. The frames report executors down, which the inbox does not hold
/// (`FrameHold`), so each is committed as it comes.
@Suite(.startsProcesses)
struct WorkerAckPacingTests {
    @Test func framesArrivingOneByOneGetFewerAcksThanCommitsAndTheLastOneStill() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        let socket = try worker.connect()
        func frame(_ seq: Int) -> [String: Any] {
            deliveryFrame(
                epoch: "ep-pace", seq: seq, source: "left_bracket", type: "health",
                body: ["executor": "ghost-\(seq)", "status": "down"])
        }
        try socket.sendJSON(frame(1))
        #expect(socket.readJSON(timeout: 5)?["ack"] as? Int == 1, "the first ack is not held")

        let count = 100
        for seq in 2...count {
            try socket.sendJSON(frame(seq))
            usleep(1000)
        }
        var acks: [Int] = []
        while acks.last != count, let reply = socket.readJSON(timeout: 5) {
            if let seq = reply["ack"] as? Int { acks.append(seq) }
        }
        #expect(acks.last == count, "the last commit is acknowledged: \(acks)")
        #expect(acks == acks.sorted(), "cumulative, in order: \(acks)")
        // Sent a millisecond apart, the frames were committed one or two at a time: an ack per
        // commit gave about 99 lines; one per 5 ms gives about 25.
        #expect(acks.count <= count * 3 / 4, "\(acks.count) ack lines for \(count - 1) frames: \(acks)")
        #expect(try worker.appliedSeq() == count)
    }
}
