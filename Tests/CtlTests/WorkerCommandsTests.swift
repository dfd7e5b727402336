import Foundation
import Shared
import TestSupport
import Testing

/// `sockets`, `ping`, `executors` and `events` against a real `mimic-worker` (with the example
/// hooks starting real executor processes) and its real Redis.
@Suite(.serialized, .startsProcesses) struct WorkerCommandsTests {
    /// A worker with its executors in place (3 online, 2 standby).
    private func runningWorker() throws -> WorkerFixture {
        let worker = try WorkerFixture(app: "shop", db: 3, redis: try RedisServer())
        try worker.start()
        let settled = try eventually(timeout: 30) {
            try worker.members("online").count == 3 && worker.members("standby").count == 2
        }
        if !settled { throw TestSupportError("executors did not settle: \(worker.log())") }
        return worker
    }

    /// A socket file nobody listens on, as a worker killed with -9 leaves it.
    private func staleSocket(at path: String) throws {
        close(try PosixSocket.bind(to: PosixSocket.unixAddress(path)))
    }

    @Test func socketsShowsOwnerStateAndStatusAndFindsStaleOnes() throws {
        let worker = try runningWorker()
        try staleSocket(at: worker.runDir + "/ghost.sock")

        let json = try Ctl.run(["sockets", "--run-dir", worker.runDir, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let sockets = try json.json()["sockets"] as? [[String: Any]] ?? []
        #expect(sockets.map { $0["app"] as? String } == ["ghost", "shop"])
        let ghost = try #require(sockets.first)
        #expect(ghost["state"] as? String == "stale")
        #expect(ghost["owner_pid"] is NSNull)
        let shop = try #require(sockets.last)
        #expect(shop["state"] as? String == "listening")
        // From /proc (the kernel's view), which must agree with the worker's own pid.
        #expect((shop["owner_pid"] as? NSNumber)?.int32Value == worker.pid)
        let status = try #require(shop["status"] as? [String: Any])
        #expect(status["app"] as? String == "shop")
        #expect(status["redis"] as? String == "up")
        #expect((status["counts"] as? [String: Any])?["online"] as? Int == 3)

        let table = try Ctl.run(["sockets", "--run-dir", worker.runDir])
        #expect(table.status == 0)
        #expect(
            table.lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                "APP", "STATE", "PID", "WORKER",
            ])
        #expect(
            table.lines.contains { $0.hasPrefix("ghost") && $0.contains("stale") && $0.contains("connection refused") })
        #expect(
            table.lines.contains {
                $0.hasPrefix("shop") && $0.contains("listening") && $0.contains(" \(worker.pid) ")
                    && $0.contains("redis up, online 3, standby 2")
            })

        let pong = try Ctl.run(["ping", "shop", "--run-dir", worker.runDir])
        #expect(pong.status == 0)
        #expect(pong.stdout == "shop: pong\n")
        let stale = try Ctl.run(["ping", "ghost", "--run-dir", worker.runDir])
        #expect(stale.status == 1)
        #expect(
            stale.stderr
                == "mimicctl: app ghost: \(worker.runDir)/ghost.sock: stale socket (connection refused: no process listens on it)\n"
        )
    }

    @Test func executorsFromTheWorkerThenFromRedisWhenItIsDown() throws {
        let worker = try runningWorker()
        let appsDir = worker.directory.path
        let live = try Ctl.run(["executors", "shop", "--run-dir", worker.runDir, "--apps-dir", appsDir, "--json"])
        #expect(live.status == 0, "\(live.stderr)")
        let fromWorker = try live.json()
        #expect(fromWorker["source"] as? String == "the worker")
        let executors = fromWorker["executors"] as? [[String: Any]] ?? []
        #expect(executors.map { $0["state"] as? String } == ["standby", "standby", "online", "online", "online"])
        let online = Set(executors.filter { $0["state"] as? String == "online" }.compactMap { $0["id"] as? String })
        #expect(online == (try worker.members("online")))
        for executor in executors {
            let id = try #require(executor["id"] as? String)
            let hash = try worker.hash("mimic:shop:exec:\(id)")
            #expect(executor["host"] as? String == hash["host"])
            #expect(executor["variant"] as? String == hash["variant"])
            #expect(executor["endpoint"] as? String == hash["endpoint"])
            #expect(!(executor["endpoint"] as? String ?? "").isEmpty)
        }

        let table = try Ctl.run(["executors", "shop", "--run-dir", worker.runDir, "--apps-dir", appsDir])
        #expect(table.status == 0)
        #expect(table.lines.first == "shop: 5 executors from the worker (standby 2, online 3)")
        #expect(table.lines.dropFirst().first?.hasPrefix("STATE") == true)
        for id in online {
            #expect(table.lines.contains { $0.hasPrefix("online") && $0.contains(" \(id) ") })
        }

        worker.terminate()
        let fallback = try Ctl.run(["executors", "shop", "--run-dir", worker.runDir, "--apps-dir", appsDir, "--json"])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        let fromRedis = try fallback.json()
        #expect(fromRedis["source"] as? String == "Redis 127.0.0.1:\(worker.redis.port) db 3")
        #expect(fallback.stderr.contains("worker socket \(worker.runDir)/shop.sock"))
        let redisRows = fromRedis["executors"] as? [[String: Any]] ?? []
        #expect(redisRows.map { $0["id"] as? String } == executors.map { $0["id"] as? String })
        #expect(redisRows.map { $0["endpoint"] as? String } == executors.map { $0["endpoint"] as? String })

        worker.redis.kill()
        let nothing = try Ctl.run(["executors", "shop", "--run-dir", worker.runDir, "--apps-dir", appsDir])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.hasPrefix("mimicctl: app shop: worker socket \(worker.runDir)/shop.sock"))
        #expect(nothing.stderr.contains("cannot connect to Redis at 127.0.0.1:\(worker.redis.port)"))
    }

    @Test func eventsReadsTheStreamAndFollowsNewOnes() throws {
        let worker = try runningWorker()
        let appsDir = worker.directory.path
        let recorded = try worker.events()
        #expect(recorded.count >= 5)

        let last3 = try Ctl.run(["events", "shop", "--apps-dir", appsDir, "--count", "3", "--json"])
        #expect(last3.status == 0, "\(last3.stderr)")
        let printed = try last3.jsonLines().map { $0["fields"] as? [String: String] ?? [:] }
        #expect(printed == Array(recorded.suffix(3)))

        let human = try Ctl.run(["events", "shop", "--apps-dir", appsDir, "--count", "1"])
        let newest = try #require(recorded.last)
        #expect(human.lines.count == 1)
        #expect(
            human.lines.first?.hasSuffix(
                "\(newest["executor"] ?? "?") \(newest["from"] ?? "?") -> \(newest["to"] ?? "?"): \(newest["reason"] ?? "")"
                    + (newest["cause"].map { $0.isEmpty ? "" : " (cause \($0))" } ?? "")) == true)

        // A follower sees a transition the worker commits after it started.
        let log = worker.directory.appendingPathComponent("follow.log").path
        let follower = try ChildProcess.spawn(
            executable: try BuiltProducts.path("mimicctl"),
            arguments: ["events", "shop", "--apps-dir", appsDir, "--follow", "--count", "1", "--json"],
            logFile: log)
        defer { ChildProcess.stop(follower) }
        // The newest existing event is printed first; after it the follower is blocked in XREAD.
        let following = eventually(timeout: 10) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\n")
        }
        #expect(following)
        let target = try #require(try worker.members("online").sorted().first)
        let socket = try worker.connect()
        try socket.sendJSON(
            deliveryFrame(
                epoch: "ctl-test", seq: 1, id: "ctl-offline-1", source: "admin", type: "set_state",
                body: ["executor": target, "state": "offline", "reason": "operator test"]))
        #expect(socket.readJSON()?["ack"] as? Int == 1)
        let seen = eventually(timeout: 15) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").contains { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let fields = object["fields"] as? [String: String]
                else { return false }
                return fields["executor"] == target && fields["from"] == "online" && fields["to"] == "offline"
                    && fields["cause"] == "ctl-offline-1"
            }
        }
        #expect(seen, "follower output: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(ChildProcess.isAlive(follower))
    }

    @Test func appsAndRunDirMustBeKnown() throws {
        let dir = try TempDirectory.make(prefix: "ctl-nofleet")
        defer { try? FileManager.default.removeItem(at: dir) }
        let noConfig = try Ctl.run(["sockets", "--config", dir.path + "/listener.yaml"])
        #expect(noConfig.status == 2)
        #expect(noConfig.stderr == "mimicctl: --config \(dir.path)/listener.yaml: no such file\n")
        let unknownApp = try Ctl.run(["events", "nope", "--apps-dir", dir.path])
        #expect(unknownApp.status == 2)
        #expect(
            unknownApp.stderr == "mimicctl: app nope: no \(dir.path)/nope.yaml; check the app name or pass --apps-dir\n"
        )
        let noRunDir = try Ctl.run(["sockets", "--run-dir", dir.path + "/run"])
        #expect(noRunDir.status == 1)
        #expect(noRunDir.stderr.contains("run dir \(dir.path)/run cannot be read"))
    }
}
