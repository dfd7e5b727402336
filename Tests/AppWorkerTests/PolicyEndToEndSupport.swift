import Foundation
import Shared
import Synchronization
import TestSupport

/// Messages a real Redis subscriber received, in order, collected in the background.
final class PublishedMessages: Sendable {
    private let received = Mutex<[RedisMessage]>([])
    /// Why the subscription ended early, if it did: a test that sees too few messages says so.
    let failure = Mutex<String?>(nil)
    private let subscriber: RedisSubscriber

    private init(subscriber: RedisSubscriber) {
        self.subscriber = subscriber
    }

    static func subscribe(_ redis: RedisServer, db: Int, channels: [String]) async throws -> PublishedMessages {
        // Generous timeouts: the whole suite runs in parallel on two shared cores.
        let subscriber = try await RedisSubscriber.subscribe(
            settings: RedisSettings(host: "127.0.0.1", port: redis.port, db: db, connectTimeout: .seconds(10)),
            channels: channels, keepAlive: .seconds(30), commandTimeout: .seconds(10))
        let messages = PublishedMessages(subscriber: subscriber)
        Task {
            do {
                for try await message in subscriber.messages { messages.received.withLock { $0.append(message) } }
            } catch {
                messages.failure.withLock { $0 = "\(error)" }
            }
        }
        return messages
    }

    func on(_ channel: String) -> [[String: Any]] {
        received.withLock { $0 }.filter { $0.channel == channel }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any]
        }
    }

    func close() async {
        await subscriber.close()
    }
}

/// Polls without blocking the test's thread.
func settles(timeout: Double = 15, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}

extension WorkerFixture {
    /// Sends frames one after the other on one connection and waits for the cumulative ack.
    func deliver(_ frames: [[String: Any]]) throws {
        let socket = try connect()
        for frame in frames { try socket.sendJSON(frame) }
        let last = frames.compactMap { $0["seq"] as? Int }.max() ?? 0
        var ack = 0
        while ack < last, let reply = socket.readJSON() { ack = reply["ack"] as? Int ?? ack }
        if ack < last { throw TestSupportError("worker acknowledged \(ack), expected \(last): \(log())") }
    }

    /// Changes one piece of the generated app file before `start()`.
    func editConfig(_ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        guard text.contains(old) else { throw TestSupportError("config does not contain \(old)") }
        try text.replacingOccurrences(of: old, with: new).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func versions(_ messages: [[String: Any]]) -> [Int] {
        messages.compactMap { $0["version"] as? Int }
    }

    /// Members of a sorted set, lowest score first (`redis-cli --raw` prints an empty line for none).
    func sortedSet(_ key: String) throws -> [String] {
        try redis.cliRaw(["ZRANGE", key, "0", "-1"], db: db).filter { !$0.isEmpty }
    }
}
