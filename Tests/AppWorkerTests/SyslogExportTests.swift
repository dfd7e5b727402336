import Foundation
import Shared
import TestSupport
import Testing

/// `log_export` end to end (issue 18 item 2): real `mimic-worker` processes send their events to a
/// real `rsyslogd` over TCP (and TLS), and what rsyslog wrote is compared with the Redis stream
/// `mimic:{app}:events`, entry by entry: every committed event once, in stream order, nothing a
/// refused commit did not persist, and across a collector crash only what the drop counter says.
@Suite(.serialized, .startsProcesses)
struct SyslogExportTests {
    /// One stream entry with its id.
    struct Entry: Equatable {
        var id: String
        var fields: [String: String]
    }

    static func entries(_ redis: RedisServer, app: String, db: Int) throws -> [Entry] {
        var entries: [Entry] = []
        var id: String?
        var values: [String] = []
        func flush() {
            if let id { entries.append(Entry(id: id, fields: values.fieldPairs)) }
            values.removeAll()
        }
        // Raw output flattens entries; an entry id (ms-seq) starts the next one.
        for line in try redis.cliRaw(["XRANGE", "mimic:\(app):events", "-", "+"], db: db) {
            if line.range(of: #"^\d{13}-\d+$"#, options: .regularExpression) != nil {
                flush()
                id = line
            } else {
                values.append(line)
            }
        }
        flush()
        return entries
    }

    /// Stream ids compare as (milliseconds, sequence), not as text.
    static func isAfter(_ id: String, _ other: String) -> Bool {
        func parts(_ id: String) -> (Int, Int) {
            let halves = id.split(separator: "-")
            return (Int(halves.first ?? "") ?? 0, Int(halves.last ?? "") ?? 0)
        }
        return parts(id) > parts(other)
    }

    static func entriesAdded(_ redis: RedisServer, app: String, db: Int) throws -> Int {
        let info = try redis.cliRaw(["XINFO", "STREAM", "mimic:\(app):events"], db: db)
        guard let index = info.firstIndex(of: "entries-added"), index + 1 < info.count, let added = Int(info[index + 1])
        else { throw TestSupportError("no entries-added in \(info)") }
        return added
    }

    /// What rsyslog received for `app`, as stream entries, checking on the way that each record
    /// carries its app, its kind as MSGID and nothing but the entry's fields.
    static func received(_ rsyslog: RsyslogServer, app: String) throws -> [Entry] {
        try rsyslog.received().filter { $0["app"] == app }.map { record in
            var fields = record
            let id = fields.removeValue(forKey: "event_id") ?? ""
            fields.removeValue(forKey: "app")
            let msgid = fields.removeValue(forKey: "msgid")
            #expect(msgid == fields["kind"], "MSGID is the event's kind: \(record)")
            return Entry(id: id, fields: fields)
        }
    }

    static func logExport(_ target: String, extra: String = "") -> String {
        "scheduling: { seed: 42, abnormal: { dissents: 3, window: 60s } }\n"
            + "log_export: { syslog: \"\(target)\"\(extra) }"
    }

    static func health(_ seq: Int, epoch: String = "ep-s", app: String = "shop") -> [String: Any] {
        // A health report for an unknown executor leaves exactly one note event.
        deliveryFrame(
            epoch: epoch, seq: seq, app: app, source: "left_bracket", type: "health",
            body: ["executor": "ghost-\(seq)", "status": "up"])
    }

    static func ack(_ socket: LineSocket, until seq: Int, timeout: TimeInterval = 20) -> Int {
        var last = 0
        while last < seq, let reply = socket.readJSON(timeout: timeout) { last = reply["ack"] as? Int ?? last }
        return last
    }

    static func exportStatus(_ worker: WorkerFixture) throws -> [String: Any] {
        try #require(try worker.status()["log_export"] as? [String: Any])
    }

    @Test func everyCommittedEventArrivesOnceInStreamOrderPerApp() throws {
        let rsyslog = try RsyslogServer()
        let redis = try RedisServer()
        let target = "tcp://127.0.0.1:\(rsyslog.port)"
        // Three online: a dissent against a majority is what ejects.
        let shop = try WorkerFixture(
            app: "shop", db: 1, redis: redis, online: 3, standby: 1, minOnline: 1, scheduling: Self.logExport(target))
        let blog = try WorkerFixture(
            app: "blog", db: 2, redis: redis, online: 2, standby: 1, minOnline: 1, scheduling: Self.logExport(target))
        try shop.start()
        try blog.start()
        #expect(try eventually { try shop.members("online").count == 3 && shop.members("standby").count == 1 })
        #expect(try eventually { try blog.members("online").count == 2 && blog.members("standby").count == 1 })

        // shop: an ejection, a list entry whose URL needs escaping, notes; blog: notes.
        let online = try shop.members("online").sorted()
        var socket = try shop.connect()
        #expect(try socket.request(["op": "hello"])["hello"] as? [String: Any] != nil)
        for seq in 1...3 {
            try socket.sendJSON(
                deliveryFrame(
                    epoch: "ep-s", seq: seq, source: "right_bracket", type: "arbitration",
                    body: ["url": "/login", "executors": online, "dissenters": [online[0]]]))
        }
        try socket.sendJSON(
            deliveryFrame(
                epoch: "ep-s", seq: 4, source: "admin", type: "list",
                body: ["list": "blacklist", "op": "add", "url": #"/a"b]\c/*"#, "ttl": "1h"]))
        for seq in 5...40 { try socket.sendJSON(Self.health(seq)) }
        #expect(Self.ack(socket, until: 40) == 40)
        let blogSocket = try blog.connect()
        for seq in 1...30 { try blogSocket.sendJSON(Self.health(seq, epoch: "ep-b", app: "blog")) }
        #expect(Self.ack(blogSocket, until: 30) == 30)

        // A commit Redis refuses (another writer moved the commit counter) persists nothing, and
        // the exporter sends nothing of it; the replay commits the frame once.
        try redis.cli("HINCRBY", "mimic:shop:meta", "commit", "1", db: 1)
        try socket.sendJSON(Self.health(41))
        while let reply = socket.readJSON(timeout: 20) {
            #expect(reply["ack"] as? Int ?? 0 <= 40, "a refused commit is not acknowledged: \(reply)")
        }
        socket = try shop.connect()
        let hello = try #require(try socket.request(["op": "hello"])["hello"] as? [String: Any])
        #expect(hello["seq"] as? Int == 40)
        try socket.sendJSON(Self.health(41))
        #expect(Self.ack(socket, until: 41) == 41)
        // The ejected executor's replacement standby is created after the commit; once it is
        // ready the streams stop growing, and the counts below are exact.
        #expect(
            try eventually { try shop.members("standby").count == 1 && shop.members("initializing").isEmpty })

        for (worker, db) in [(shop, 1), (blog, 2)] {
            let app = worker.app
            var stream: [Entry] = []
            let arrived = try eventually(timeout: 20) {
                stream = try Self.entries(redis, app: app, db: db)
                return try Self.received(rsyslog, app: app) == stream
            }
            let received = try Self.received(rsyslog, app: app)
            #expect(arrived, "\(app): \(received.count) received, \(stream.count) in the stream")
            #expect(Set(received.map(\.id)).count == received.count, "\(app): an event arrived twice")
            let status = try Self.exportStatus(worker)
            #expect(status["connected"] as? Bool == true)
            #expect(status["dropped"] as? Int == 0)
            #expect(status["sent"] as? Int == stream.count)
            #expect(status["last_sent_id"] as? String == stream.last?.id)
            #expect(status["target"] as? String == target)
        }
        let shopEvents = try Self.received(rsyslog, app: "shop")
        #expect(shopEvents.filter { $0.fields["kind"] == "note" && $0.fields["cause"] == "msg-41" }.count == 1)
        let ejection = try #require(shopEvents.first { $0.fields["to"] == "dirty" })
        #expect(ejection.fields["executor"] == online[0] && ejection.fields["from"] == "online")
        #expect(ejection.fields["cause"] == "msg-3")
        #expect(shopEvents.contains { $0.fields["kind"] == "list" && $0.fields["url"] == #"/a"b]\c/*"# })
        #expect(try Self.received(rsyslog, app: "blog").filter { $0.fields["kind"] == "note" }.count == 30)
    }

    @Test func aCollectorCrashLosesOnlyWhatTheDropCounterSaysAndARestartSendsNothingTwice() throws {
        let rsyslog = try RsyslogServer()
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis, online: 2, standby: 1, minOnline: 1,
            scheduling: Self.logExport("tcp://127.0.0.1:\(rsyslog.port)"))
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 2 && worker.members("standby").count == 1 })
        var socket = try worker.connect()
        for seq in 1...20 { try socket.sendJSON(Self.health(seq)) }
        #expect(Self.ack(socket, until: 20) == 20)
        #expect(try eventually { try Self.received(rsyslog, app: "shop") == Self.entries(redis, app: "shop", db: 1) })
        let beforeCrash = try Self.received(rsyslog, app: "shop")

        // The collector crashes while the exporter is idle; decisions go on without it.
        rsyslog.kill()
        #expect(try eventually { try Self.exportStatus(worker)["connected"] as? Bool == false })
        for seq in 21...50 { try socket.sendJSON(Self.health(seq)) }
        #expect(Self.ack(socket, until: 50) == 50, "decisions never wait for the collector")
        #expect(try eventually { try Self.exportStatus(worker)["last_error"] is String })
        // The stream trims the oldest entries past its length (100,000); ten unsent events going
        // that way is what a long enough outage does. XTRIM stands in for the 100,000 events.
        let stream = try Self.entries(redis, app: "shop", db: 1)
        let unsent = Array(stream.drop { $0.id != beforeCrash.last?.id }.dropFirst())
        #expect(unsent.count >= 30)
        try redis.cli("XTRIM", "mimic:shop:events", "MINID", unsent[10].id, db: 1)

        try rsyslog.start()
        // What the stream still holds starts at unsent[10]; it may have grown meanwhile.
        var expected: [Entry] = []
        let delivered = try eventually(timeout: 20) {
            expected = beforeCrash + (try Self.entries(redis, app: "shop", db: 1))
            return try Self.received(rsyslog, app: "shop") == expected
        }
        #expect(delivered)
        #expect(expected.count >= beforeCrash.count + 20)
        #expect(expected[beforeCrash.count].id == unsent[10].id)
        let status = try Self.exportStatus(worker)
        #expect(status["dropped"] as? Int == 10)
        #expect(status["connected"] as? Bool == true)
        #expect(
            try Self.received(rsyslog, app: "shop").count + 10 == Self.entriesAdded(redis, app: "shop", db: 1),
            "every event the stream was ever given arrived or is counted as dropped")

        // A worker restart resumes after the last event sent, with the drop count it had.
        worker.terminate()
        try worker.start()
        socket = try worker.connect()
        for seq in 51...55 { try socket.sendJSON(Self.health(seq)) }
        #expect(Self.ack(socket, until: 55) == 55)
        var after: [Entry] = []
        let caughtUp = try eventually(timeout: 20) {
            after = try Self.entries(redis, app: "shop", db: 1).filter { Self.isAfter($0.id, expected.last!.id) }
            return try Self.received(rsyslog, app: "shop") == expected + after
        }
        let receivedCount = try Self.received(rsyslog, app: "shop").count
        #expect(caughtUp, "received \(receivedCount), expected \(expected.count + after.count)")
        #expect(after.filter { $0.fields["kind"] == "note" }.count >= 5)
        #expect(try Self.exportStatus(worker)["dropped"] as? Int == 10)
        #expect(try Self.exportStatus(worker)["sent"] as? Int == after.count, "the new process sent only what was new")
    }

    @Test func aTLSCollectorGetsTheSameRecords() throws {
        let rsyslog = try RsyslogServer(tls: true)
        let redis = try RedisServer()
        let ca = try #require(rsyslog.tls?.caFile)
        let worker = try WorkerFixture(
            redis: redis, online: 1, standby: 0, minOnline: 1,
            scheduling: Self.logExport("tls://127.0.0.1:\(rsyslog.port)", extra: ", tls: { ca_file: \"\(ca)\" }"))
        try worker.start()
        let socket = try worker.connect()
        for seq in 1...10 { try socket.sendJSON(Self.health(seq)) }
        #expect(Self.ack(socket, until: 10) == 10)
        var stream: [Entry] = []
        let arrived = try eventually(timeout: 20) {
            stream = try Self.entries(redis, app: "shop", db: 1)
            return try Self.received(rsyslog, app: "shop") == stream
        }
        let receivedCount = try Self.received(rsyslog, app: "shop").count
        #expect(arrived, "\(receivedCount) received of \(stream.count): \(worker.log())")
        #expect(stream.filter { $0.fields["kind"] == "note" }.count == 10)
        #expect(try Self.exportStatus(worker)["connected"] as? Bool == true)
    }

    @Test func aCollectorWhoseCertificateIsNotTrustedGetsNothing() throws {
        let rsyslog = try RsyslogServer(tls: true)
        let redis = try RedisServer()
        // The system trust store does not know the test CA.
        let worker = try WorkerFixture(
            redis: redis, online: 1, standby: 0, minOnline: 1,
            scheduling: Self.logExport("tls://127.0.0.1:\(rsyslog.port)"))
        try worker.start()
        let socket = try worker.connect()
        for seq in 1...3 { try socket.sendJSON(Self.health(seq)) }
        #expect(Self.ack(socket, until: 3) == 3)
        #expect(try eventually { try Self.exportStatus(worker)["last_error"] is String })
        let status = try Self.exportStatus(worker)
        #expect(status["connected"] as? Bool == false)
        #expect(status["sent"] as? Int == 0)
        #expect(try rsyslog.received().isEmpty)
    }
}
