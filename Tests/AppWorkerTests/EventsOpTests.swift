import Foundation
import TestSupport
import Testing

/// `{"op":"events"}` on the app socket: the newest committed events, the same as the Redis stream's
/// tail, still there after a kill -9 and restart (read back from the stream), bounded in length.
@Suite(.serialized, .startsProcesses)
struct EventsOpTests {
    private func socketEvents(_ worker: WorkerFixture) throws -> [[String: String]] {
        let reply = try worker.connect().request(["op": "events"])
        #expect(reply["app"] as? String == "shop")
        return try #require(reply["events"] as? [[String: String]], "\(reply)")
    }

    @Test func eventsAreTheStreamTailAndSurviveARestart() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis, online: 2, standby: 1)
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 2 && worker.members("standby").count == 1 })
        // Everything the stream has so far, oldest first (the pools filled with well under 100 events).
        #expect(try eventually { try socketEvents(worker) == worker.events() })
        let before = try socketEvents(worker)
        #expect(before.contains { $0["kind"] == "transition" && $0["to"] == "online" })

        worker.kill9()
        try worker.start()
        // The socket answers before the state is loaded (status says `loaded`); the events are read
        // back from Redis with it, and whatever the restart itself committed comes after them.
        #expect(try eventually { try worker.connect().request(["op": "status"])["loaded"] as? Bool == true })
        let after = try socketEvents(worker)
        #expect(Array(after.prefix(before.count)) == before)
        #expect(try eventually { try socketEvents(worker) == worker.events() })

        // Rejected messages (unknown type) each add a note, until the stream holds more than the op
        // keeps: it keeps the newest.
        let client = try worker.connect()
        for seq in 1...110 {
            let frame = deliveryFrame(
                epoch: "ev", seq: seq, id: "bad-\(seq)", source: "admin", type: "no_such_type", body: [:])
            #expect(try client.request(frame)["ack"] as? Int == seq)
        }
        #expect(
            try eventually {
                let stream = try worker.events()
                let events = try socketEvents(worker)
                return stream.count > 100 && events == Array(stream.suffix(100))
            }, "the op answers the newest 100 events")
    }
}
