import Foundation
import Shared
import Testing

/// Worker answers, the listener's app status, the situation and the executor hash: each written
/// by one codec and read back by the same one, with the key names of the contract.
@Suite struct AnswerCodecTests {
    static let executor = Executor(
        id: "e7", variant: "nginx-php", host: "node1", endpoint: "10.0.0.11:8081",
        state: .online, since: 1_795_948_383_508, confidence: 0.8125, dissents: 2,
        reason: "replaces e3", flagged: true)

    private func roundTrip<Value: Codable & Equatable>(_ value: Value) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(Value.self, from: data) == value)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func theExecutorHashReadsBackAndKeepsTheFlag() throws {
        let fields = Self.executor.hashFields
        let hash = Dictionary(
            uniqueKeysWithValues: stride(from: 0, to: fields.count, by: 2).map { (fields[$0], fields[$0 + 1]) })
        #expect(hash["state"] == "online" && hash["flagged"] == "1" && hash["confidence"] == "0.8125")
        #expect(Executor(hash: hash) == Self.executor)
        var partial = hash
        partial["state"] = "sleeping"
        #expect(Executor(hash: partial) == nil, "an unknown state is not an executor")
        partial = ["id": "e1", "variant": "v", "host": "h", "state": "standby"]
        #expect(Executor(hash: partial)?.confidence == 1 && Executor(hash: partial)?.flagged == false)
    }

    @Test func workerStatusHasTheContractKeys() throws {
        let status = WorkerStatus(
            app: "shop", pid: 42, redis: "up", loaded: true, counts: ["online": 3],
            paused: false, onlineVersion: 9, hosts: ["node1": "up"], uptimeSeconds: 5,
            applied: nil)
        let object = try roundTrip(status)
        #expect(
            Set(object.keys) == [
                "app", "pid", "redis", "loaded", "counts", "paused", "online_version", "hosts",
                "uptime_s", "applied", "dead_letters", "skipped",
            ])
        let earlier = #"{"app":"shop","pid":1,"redis":"up","loaded":true,"counts":{},"paused":false,"online_version":0,"hosts":{},"uptime_s":1,"applied":null}"#
        let read = try JSONDecoder().decode(WorkerStatus.self, from: Data(earlier.utf8))
        #expect(read.deadLetters == 0 && read.skipped == 0, "a worker of the previous release reads as no dead letters")
        #expect(object["applied"] is NSNull, "applied is null before the first frame, not absent")
        var down = status
        down.redisError = "connection refused"
        down.applied = .init(epoch: "e1", seq: 12)
        let downObject = try roundTrip(down)
        #expect(downObject["redis_error"] as? String == "connection refused")
        #expect((downObject["applied"] as? [String: Any])?["seq"] as? Int == 12)
    }

    @Test func executorsEventsAndRefusalsReadBack() throws {
        let executors = try roundTrip(WorkerExecutors(app: "shop", executors: [Self.executor]))
        let first = try #require((executors["executors"] as? [[String: Any]])?.first)
        #expect(first["flagged"] as? Bool == true && first["state"] as? String == "online")
        _ = try roundTrip(WorkerEvents(app: "shop", events: [["kind": "transition", "executor": "e7"]]))
        let refusal = try roundTrip(WorkerRefusal(error: "seq 5 skips ahead", seq: 5))
        #expect(Set(refusal.keys) == ["error", "seq"])
        _ = try roundTrip(WorkerPong())
    }

    @Test func appStatusAndSituationAreFlatWithEveryKey() throws {
        let status = AppStatus(
            app: "shop",
            worker: .init(
                connected: true, connects: 1, state: "running", pid: nil, restarts: 0, lastExit: nil, up: true),
            journal: .init(epoch: "e1", lastSeq: 10, backlogMessages: 2, backlogBytes: 300, segments: 1),
            lastDeliveredSeq: 10, lastAckedSeq: 8, rates: .init(acceptedPerSecond: 1.5, ackedPerSecond: 1))
        let object = try roundTrip(status)
        #expect((object["journal"] as? [String: Any])?["backlog_messages"] as? Int == 2)
        #expect((object["worker"] as? [String: Any])?["pid"] is NSNull)
        #expect(object["last_acked_seq"] as? Int == 8)

        let answered = AppSituation(
            status: status, scheduler: nil, schedulerError: "worker socket run/shop.sock: no answer")
        let flat = try roundTrip(Situation(time: 1, apps: [answered]))
        let app = try #require((flat["apps"] as? [[String: Any]])?.first)
        #expect(app["app"] as? String == "shop" && app["last_acked_seq"] as? Int == 8, "status keys at the top")
        #expect(app["scheduler"] is NSNull && (app["scheduler_error"] as? String)?.contains("shop.sock") == true)
        #expect((app["executors"] as? [Any])?.isEmpty == true)
    }

    @Test func anAnswerLineReadsAsTheAnswerOrSaysWhyNot() throws {
        let pong = try SocketOp.ping.read(WorkerPong.self, from: #"{"pong":true}"#).get()
        #expect(pong.pong)
        let refused = SocketOp.status.read(WorkerStatus.self, from: #"{"error":"not loaded","seq":3}"#)
        #expect(refused == .failure(.refused(op: .status, reason: "not loaded")))
        guard case .failure(let problem) = SocketOp.executors.read(WorkerExecutors.self, from: "[1]") else {
            Issue.record("a JSON array read as the executors answer")
            return
        }
        #expect(problem.description.hasPrefix("answered executors with something that is not its answer"))
    }
}
