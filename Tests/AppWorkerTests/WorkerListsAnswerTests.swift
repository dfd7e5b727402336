import Foundation
import Shared
import TestSupport
import Testing

/// `{"op":"lists"}` (issue 18 item 3): the lists with their expiries as the page shows them,
/// the soonest to expire first and permanent entries last.
@Suite(.serialized, .startsProcesses)
struct WorkerListsAnswerTests {
    @Test func listsCarryTheirExpiriesSoonestFirst() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 })

        let socket = try worker.connect()
        let at = Int64(Date().timeIntervalSince1970 * 1000)
        let adds: [[String: Any]] = [
            ["list": "blacklist", "op": "add", "url": "/later/*", "ttl": "2h"],
            ["list": "blacklist", "op": "add", "url": "/always"],
            ["list": "blacklist", "op": "add", "url": "/soon", "ttl": "10m"],
            ["list": "whitelist", "op": "add", "url": "/health"],
        ]
        for (index, body) in adds.enumerated() {
            try socket.sendJSON(
                deliveryFrame(epoch: "ep-l", seq: index + 1, at: at, source: "admin", type: "list", body: body))
        }
        var ack = 0
        while ack < adds.count, let reply = socket.readJSON() { ack = reply["ack"] as? Int ?? ack }
        #expect(ack == adds.count)

        let query = try worker.connect()
        try query.send(SocketOp.lists.line)
        let line = try #require(try query.readLine(timeout: 10))
        let answer = try SocketOp.lists.read(WorkerLists.self, from: line).get()
        #expect(answer.app == worker.app)
        #expect(answer.totals == ["blacklist": 3, "whitelist": 1])
        #expect(
            answer.entries == [
                WorkerLists.Entry(list: "blacklist", url: "/soon", expiresAt: at + 600_000),
                WorkerLists.Entry(list: "blacklist", url: "/later/*", expiresAt: at + 7_200_000),
                WorkerLists.Entry(list: "blacklist", url: "/always", expiresAt: nil),
                WorkerLists.Entry(list: "whitelist", url: "/health", expiresAt: nil),
            ])
    }
}
