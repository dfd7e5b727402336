import Foundation
import Shared
import Testing

@testable import AppWorker
@testable import Scheduling

struct CommitBatchTests {
    let keys = RedisKeys(app: "shop")

    func xadd(_ fields: [String]) -> [String] {
        ["XADD", "mimic:shop:events", "MAXLEN", "~", "100000", "*"] + fields
    }

    @Test func decisionWithTransitionsNotesAndPublication() throws {
        var pool = Fixtures.steady()
        _ = pool.onlinePublication(app: "shop")
        var decision = try pool.handle(Fixtures.health("e2", "down", cause: "msg-7"), now: 500)
        decision.notes.append(.init(executor: nil, reason: "suspect /x", cause: "msg-7"))
        let publicationMaybe = pool.onlinePublication(app: "shop")
        let publication = try #require(publicationMaybe)
        #expect(publication.version == 2)

        var batch = CommitBatch(keys: keys)
        #expect(batch.isEmpty)
        batch.record(decision, now: 500)
        #expect(!batch.isEmpty)
        batch.finish(pool: pool, publication: publication, applied: (epoch: "ep-1", seq: 7), commit: 9)
        let commands = batch.commands
        let reason = "abnormal: reported down by the left bracket"
        let create = "created to refill the pools"
        let expected: [[String]] = [
            ["SREM", "mimic:shop:state:online", "e2"],
            ["SADD", "mimic:shop:state:dirty", "e2"],
            xadd([
                "kind", "transition", "executor", "e2", "from", "online", "to", "dirty", "reason", reason,
                "cause", "msg-7", "time", "500",
            ]),
            ["SREM", "mimic:shop:state:standby", "e5"],
            ["SADD", "mimic:shop:state:online", "e5"],
            xadd([
                "kind", "transition", "executor", "e5", "from", "standby", "to", "online",
                "reason", "selected (heterogeneity)", "cause", "msg-7", "time", "500",
            ]),
            ["SADD", "mimic:shop:state:initializing", "e6"],
            xadd([
                "kind", "transition", "executor", "e6", "from", "none", "to", "initializing", "reason", create,
                "cause", "msg-7", "time", "500",
            ]),
            xadd(["kind", "note", "executor", "", "reason", "suspect /x", "cause", "msg-7", "time", "500"]),
            [
                "HSET", "mimic:shop:exec:e2", "id", "e2", "variant", "v2", "host", "h2", "endpoint", "10.0.0.2:8080",
                "state", "dirty", "since", "500", "confidence", "1.0000", "dissents", "0", "reason", reason,
                "flagged", "0",
            ],
            [
                "HSET", "mimic:shop:exec:e5", "id", "e5", "variant", "v2", "host", "h1", "endpoint", "10.0.0.5:8080",
                "state", "online", "since", "500", "confidence", "1.0000", "dissents", "0",
                "reason", "selected (heterogeneity)", "flagged", "0",
            ],
            [
                "HSET", "mimic:shop:exec:e6", "id", "e6", "variant", "v3", "host", "h2", "endpoint", "",
                "state", "initializing", "since", "500", "confidence", "1.0000", "dissents", "0", "reason", create,
                "flagged", "0",
            ],
            ["HSET", "mimic:shop:meta", "next_executor", "7", "paused", "0", "online_version", "2", "commit", "9"],
        ]
        #expect(Array(commands.prefix(expected.count)) == expected)
        #expect(commands.count == expected.count + 3)
        let set = commands[expected.count]
        let publish = commands[expected.count + 1]
        #expect(set.count == 3 && set[0] == "SET" && set[1] == "mimic:shop:online:view")
        #expect(publish == ["PUBLISH", "mimic:shop:online", set[2]])
        let decoded = try JSONDecoder().decode(OnlineView.self, from: Data(set[2].utf8))
        #expect(decoded == publication)
        #expect(decoded.online.map(\.id) == ["e1", "e3", "e5"])
        #expect(commands.last == ["HSET", "mimic:shop:applied", "epoch", "ep-1", "seq", "7"])
    }

    @Test func purgeDeletesHashAndListChangesPublish() throws {
        var pool = Fixtures.steady()
        _ = try pool.handle(Fixtures.setState("e2", "offline"), now: 100)
        var decision = pool.handle(.actionSucceeded(Fixtures.action(.remove, pool, "e2"), endpoint: nil), now: 200)
        decision.listChanges +=
            pool.handle(.message(.list(ListChangeFixture.blacklistAdd), cause: "m-list"), now: 200)
            .listChanges
        var batch = CommitBatch(keys: keys)
        batch.record(decision, now: 200)
        batch.finish(pool: pool, publication: nil, applied: nil, commit: 3)
        #expect(
            batch.commands == [
                ["SREM", "mimic:shop:state:offline", "e2"],
                xadd([
                    "kind", "transition", "executor", "e2", "from", "offline", "to", "removed",
                    "reason", "removed from h2", "cause", "driver", "time", "200",
                ]),
                ["SADD", "mimic:shop:list:blacklist", "/admin/*"],
                ["ZADD", "mimic:shop:list:blacklist:expiry", "3600200", "/admin/*"],
                [
                    "PUBLISH", "mimic:shop:lists",
                    #"{"cause":"m-list","expires_at":3600200,"list":"blacklist","op":"add","reason":"list message","url":"/admin/*"}"#,
                ],
                xadd([
                    "kind", "list", "list", "blacklist", "op", "add", "url", "/admin/*", "expires_at", "3600200",
                    "reason", "list message", "cause", "m-list", "time", "200",
                ]),
                ["DEL", "mimic:shop:exec:e2"],
                ["HSET", "mimic:shop:meta", "next_executor", "7", "paused", "0", "online_version", "0", "commit", "3"],
            ])
    }

    @Test func hostChangesAreEventsAndEveryEventIsKeptForTheSocket() {
        var decision = Decision()
        decision.hostChanges = [
            HostChange(
                report: HostReport(host: "h1", up: false, failures: 3, detail: "connect refused"), changed: true),
            // A report that changes nothing updates the hash but is no event.
            HostChange(report: HostReport(host: "h2", up: true, failures: 0, detail: "ok"), changed: false),
        ]
        decision.notes.append(
            .init(executor: nil, reason: "cannot create executors: no healthy host", cause: "host:h1"))
        var batch = CommitBatch(keys: keys)
        batch.record(decision, now: 900)
        let hostEvent = ["kind", "host", "host", "h1", "to", "down", "reason", "connect refused", "time", "900"]
        #expect(batch.commands.contains(xadd(hostEvent)))
        #expect(batch.commands.filter { $0.first == "XADD" }.count == 2)
        // The events the socket's `events` op shows are exactly the stream entries the batch adds.
        #expect(batch.events == batch.commands.filter { $0.first == "XADD" }.map { Array($0.dropFirst(6)) })
        #expect(batch.events.last == hostEvent)
    }

    @Test func emptyDecisionLeavesBatchEmptyButMetaOnlyDoesNot() {
        var batch = CommitBatch(keys: keys)
        batch.record(Decision(), now: 1)
        #expect(batch.isEmpty)
        var meta = Decision()
        meta.metaChanged = true
        batch.record(meta, now: 2)
        #expect(!batch.isEmpty)
        #expect(batch.commands.isEmpty)
    }

    @Test func touchedTwiceIsWrittenOnce() throws {
        var pool = Fixtures.steady()
        var batch = CommitBatch(keys: keys)
        batch.record(try pool.handle(Fixtures.arbitration(["e1", "e2", "e3"], dissenters: ["e1"]), now: 10), now: 10)
        batch.record(try pool.handle(Fixtures.arbitration(["e1", "e2", "e3"], dissenters: ["e1"]), now: 20), now: 20)
        batch.finish(pool: pool, publication: nil, applied: (epoch: "x", seq: 2), commit: 1)
        let hsets = batch.commands.filter { $0.first == "HSET" && $0[1] == "mimic:shop:exec:e1" }
        #expect(hsets.count == 1)
        let fields = try #require(hsets.first)
        #expect(fields[fields.firstIndex(of: "dissents")! + 1] == "2")
        #expect(fields[fields.firstIndex(of: "confidence")! + 1] == "0.7225")
    }
}

enum ListChangeFixture {
    static var blacklistAdd: ListChange {
        guard
            case .list(let change) = try! Fixtures.body(
                .admin, .list,
                [
                    "list": .string("blacklist"), "op": .string("add"), "url": .string("/admin/*"),
                    "ttl": .string("1h"),
                ])
        else { fatalError("not a list change") }
        return change
    }
}
