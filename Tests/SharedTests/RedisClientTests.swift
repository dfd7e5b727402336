import TestSupport
import Testing

@testable import Shared

@Suite("Redis client commands", .startsProcesses)
struct RedisClientTests {
    /// The worker's scheduler loop prefers the client's executor so its commits skip two thread
    /// hops (issue 15).
    @Test func aClientCallMadeOnTheOwnerThreadRunsInline() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }
        let owner = try #require(client.executor as? RedisOwnerThread)
        try await client.ping()
        let queuedBefore = owner.queuedCalls
        let replies = try await withTaskExecutorPreference(client.executor) { () async throws -> [RedisReply] in
            var replies: [RedisReply] = []
            for index in 0..<50 {
                replies.append(try await client.command(["INCR", "n"]))
                #expect(owner.isCurrent, "call \(index)")
            }
            return replies
        }
        #expect(replies.last == .integer(50))
        // None of them was queued for the thread: without the inline path each would be.
        #expect(owner.queuedCalls == queuedBefore)
    }

    @Test func typedRepliesForStringsHashesSetsAndStreams() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        #expect(try await client.command(["SET", "greeting", "hello"]).isOK)
        #expect(try await client.command(["GET", "greeting"]).string == "hello")
        #expect(try await client.command(["GET", "missing"]) == .null)

        #expect(
            try await client.command(["HSET", "mimic:shop:exec:e1", "state", "online", "dissents", "3"]) == .integer(2))
        let hash = try await client.command(["HGETALL", "mimic:shop:exec:e1"])
        #expect(hash.dictionary == ["state": "online", "dissents": "3"])
        #expect(try await client.command(["HGET", "mimic:shop:exec:e1", "dissents"]).int == 3)

        #expect(try await client.command(["SADD", "mimic:shop:state:online", "e1", "e2", "e3"]).int == 3)
        let members = try await client.command(["SMEMBERS", "mimic:shop:state:online"]).strings
        #expect(Set(members ?? []) == ["e1", "e2", "e3"])

        let id = try #require(
            try await client.command(["XADD", "mimic:shop:events", "*", "executor", "e1", "to", "dirty"]).string)
        #expect(id.split(separator: "-").count == 2)
        let entries = try #require(try await client.command(["XRANGE", "mimic:shop:events", "-", "+"]).array)
        #expect(entries.count == 1)
        #expect(entries[0].array?[0].string == id)
        #expect(entries[0].array?[1].strings == ["executor", "e1", "to", "dirty"])
    }

    @Test func valuesAreBinarySafe() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        let text = "line one\nline\0two\r\n"
        try await client.command(["SET", "text", text])
        #expect(try await client.command(["GET", "text"]).string == text)

        let bytes: [UInt8] = [0x00, 0x0A, 0xFF, 0xFE, 0x0D, 0x41, 0x00]
        try await client.command([Array("SET".utf8), Array("raw".utf8), bytes])
        let reply = try await client.command(["GET", "raw"])
        #expect(reply == .bulk(bytes))
        #expect(reply.string == nil, "invalid UTF-8 is not a string")
        #expect(try await client.command(["STRLEN", "raw"]).int == bytes.count)

        try await client.command(["SET", "empty", ""])
        #expect(try await client.command(["GET", "empty"]) == .bulk([]))
    }

    @Test func errorReplySurfacesWithTheServerMessage() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        try await client.command(["SET", "plain", "x"])
        let error = await #expect(throws: RedisError.self) {
            try await client.command(["HGET", "plain", "field"])
        }
        guard case .server(let message) = error else {
            Issue.record("expected a server error, got \(String(describing: error))")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(String(describing: error!).contains("WRONGTYPE"))
        // An error reply leaves the connection healthy.
        #expect(try await client.command(["GET", "plain"]).string == "x")
    }

    @Test func pipelineOfAThousandCommandsKeepsOrder() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        let replies = try await client.pipeline(Array(repeating: ["INCR", "counter"], count: 1000))
        #expect(replies == (1...1000).map { RedisReply.integer(Int64($0)) })

        let mixed = try await client.pipeline([["SET", "k", "v"], ["HGET", "k", "f"], ["GET", "k"]])
        #expect(mixed[0].isOK)
        #expect(mixed[1].errorMessage?.hasPrefix("WRONGTYPE") == true, "error replies come back in place")
        #expect(mixed[2].string == "v")
    }

    @Test func transactionAppliesAllCommandsAtomically() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        let results = try await client.transaction([
            ["SREM", "mimic:shop:state:standby", "e4"],
            ["SADD", "mimic:shop:state:online", "e4"],
            ["HSET", "mimic:shop:applied", "epoch", "j1", "seq", "7"],
            ["HGET", "mimic:shop:applied", "seq"],
        ])
        #expect(results == [.integer(0), .integer(1), .integer(2), .bulk(Array("7".utf8))])
    }

    @Test func queuedCommandErrorThrowsAndAppliesNothing() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        let error = await #expect(throws: RedisError.self) {
            try await client.transaction([["SET", "tx", "1"], ["INCR"], ["SET", "tx2", "2"]])
        }
        guard case .transactionFailed(let command, let message, let othersApplied) = error else {
            Issue.record("expected transactionFailed, got \(String(describing: error))")
            return
        }
        #expect(command == 1)
        #expect(message.contains("wrong number of arguments"))
        #expect(!othersApplied)
        #expect(try await client.command(["EXISTS", "tx", "tx2"]) == .integer(0))
    }

    @Test func commandFailingInsideExecReportsThatOthersWereApplied() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }

        try await client.command(["SET", "word", "abc"])
        let error = await #expect(throws: RedisError.self) {
            try await client.transaction([["INCR", "word"], ["SET", "after", "1"]])
        }
        #expect(
            error
                == .transactionFailed(
                    command: 0, message: "ERR value is not an integer or out of range",
                    othersApplied: true))
        #expect(try await client.command(["GET", "after"]).string == "1")
    }

    @Test func execReturningNilThrowsTransactionAborted() throws {
        let redis = try RedisServer()
        let watcher = try RedisConnection(settings: redis.settings)
        let other = try RedisConnection(settings: redis.settings)

        try watcher.command(["WATCH", "watched"])
        try other.command(["SET", "watched", "changed"])
        #expect(throws: RedisError.transactionAborted) {
            try watcher.transaction([["SET", "watched", "mine"]])
        }
        #expect(try other.command(["GET", "watched"]).string == "changed")
    }

    @Test func selectedDatabaseIsUsed() async throws {
        let redis = try RedisServer()
        let client = redis.client(db: 3)
        defer { Task { await client.close() } }

        try await client.command(["SET", "mimic:shop:applied-db", "three"])
        #expect(try redis.cliRaw(["GET", "mimic:shop:applied-db"], db: 3) == ["three"])
        #expect(try redis.cliRaw(["EXISTS", "mimic:shop:applied-db"], db: 0) == ["0"])
    }

    @Test func authenticatesWithThePassword() async throws {
        let redis = try RedisServer()
        try redis.cli("CONFIG", "SET", "requirepass", "s3cret")

        let right = redis.client(password: "s3cret")
        defer { Task { await right.close() } }
        try await right.ping()

        let wrong = redis.client(password: "guess")
        defer { Task { await wrong.close() } }
        let error = await #expect(throws: RedisError.self) { try await wrong.ping() }
        guard case .authenticationFailed(_, let message) = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("WRONGPASS"))
        #expect(String(describing: error!).contains("check redis.password"))

        let none = redis.client()
        defer { Task { await none.close() } }
        let noAuth = await #expect(throws: RedisError.self) { try await none.ping() }
        guard case .server(let refusal) = noAuth else {
            Issue.record("expected a NOAUTH server error, got \(String(describing: noAuth))")
            return
        }
        #expect(refusal.hasPrefix("NOAUTH"))
    }

    @Test func refusedConnectionGivesAClearError() async throws {
        let port = try FreePort.take()
        let client = RedisClient(settings: RedisSettings(host: "127.0.0.1", port: port))
        defer { Task { await client.close() } }

        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        guard case .connectionFailed(let endpoint, let reason) = error else {
            Issue.record("expected connectionFailed, got \(String(describing: error))")
            return
        }
        #expect(endpoint == "127.0.0.1:\(port)")
        #expect(reason.contains("refused"))
        #expect(String(describing: error!).contains("is redis-server running at 127.0.0.1:\(port)?"))
    }

    @Test func closedClientRefusesCalls() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        try await client.ping()
        await client.close()
        await client.close()
        await #expect(throws: RedisError.closed) { try await client.ping() }
    }
}

@Suite("Redis connection", .startsProcesses)
struct RedisConnectionTests {
    @Test func emptyTransactionAndPipelineNeedNoCommands() throws {
        let redis = try RedisServer()
        let connection = try RedisConnection(settings: redis.settings)
        #expect(try connection.transaction([]) == [])
        #expect(try connection.pipeline([]) == [])
        #expect(!connection.isBroken)
    }
}
