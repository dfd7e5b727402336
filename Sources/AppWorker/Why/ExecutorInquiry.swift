import Foundation
import Scheduling
import Shared

/// Answers `{"op":"why","executor":…}` from what is committed in Redis: the executor's hash, the
/// events that named it (and the notes and list changes of the same messages), the policy memory.
/// On a Redis client of its own, off the scheduler loop and the socket's event loop, so a question
/// never delays a decision; the stream is read newest first in pages, at most
/// `ExecutorWhy.searchLimit` entries.
struct ExecutorInquiry: Sendable {
    let keys: RedisKeys
    let settings: ExecutorPool.Settings
    let redis: RedisClient
    let causes: CauseMessages

    private static let page = 1000

    func answer(_ id: String) async -> Result<ExecutorWhy, WorkerRefusal> {
        do {
            return try await ask(id)
        } catch {
            return .failure(
                WorkerRefusal(
                    error:
                        "app \(keys.app): cannot read executor \(id) from Redis \(redis.settings.host):\(redis.settings.port) db \(redis.settings.db): \(error)"
                ))
        }
    }

    private func ask(_ id: String) async throws -> Result<ExecutorWhy, WorkerRefusal> {
        let replies = try await redis.pipeline([["HGETALL", keys.executor(id)], ["GET", keys.policy]])
        let flat = replies[0].strings ?? []
        var hash: [String: String] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) { hash[flat[index]] = flat[index + 1] }
        guard let executor = Executor(hash: hash) else {
            return .failure(
                WorkerRefusal(
                    error:
                        "app \(keys.app): no executor '\(id)' (\(keys.executor(id)) does not exist); mimicctl executors \(keys.app) lists them"
                ))
        }
        let memory = replies[1].string.flatMap(PolicyMemory.init(json:)) ?? .empty
        let (events, unnamed, searched) = try await events(of: id)
        let causes = Set(events.map(\.cause))
        let recent = Int64(Date().timeIntervalSince1970 * 1000) - settings.windowMs
        let suspected = Self.suspicions(
            in: (events + unnamed).filter { causes.contains($0.cause) || $0.time >= recent })
        let policy = memory.why(of: executor, settings: settings, suspected: suspected)
        return .success(
            ExecutorWhy(app: keys.app, executor: executor, events: events, searched: searched, policy: policy))
    }

    /// The executor's events and the entries that share a cause with them, oldest first.
    /// Also the entries that name no executor (notes, list changes) among those searched.
    private func events(of id: String) async throws -> (
        chain: [ExecutorWhy.Event], unnamed: [ExecutorWhy.Event], searched: Int
    ) {
        var named: [ExecutorWhy.Event] = []
        var others: [ExecutorWhy.Event] = []
        var searched = 0
        var end = "+"
        while named.count < ExecutorWhy.eventLimit, searched < ExecutorWhy.searchLimit {
            let reply = try await redis.command(["XREVRANGE", keys.events, end, "-", "COUNT", "\(Self.page)"])
            let entries = reply.array ?? []
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let entryID = parts[0].string,
                    let flat = parts[1].strings
                else { continue }
                searched += 1
                end = "(" + entryID
                var fields: [String: String] = [:]
                for index in stride(from: 0, to: flat.count - 1, by: 2) { fields[flat[index]] = flat[index + 1] }
                guard let event = ExecutorWhy.Event(id: entryID, fields: fields) else { continue }
                if event.executor == id {
                    named.append(event)
                } else if event.executor == nil, event.kind == "note" || event.kind == "list" {
                    others.append(event)
                }
            }
            if entries.count < Self.page { break }
        }
        named = Array(named.prefix(ExecutorWhy.eventLimit))
        let causes = Set(named.map(\.cause))
        let oldest = named.last?.id ?? "0-0"
        let related = others.filter { causes.contains($0.cause) && Self.isAfterOrAt($0.id, oldest) }
        var chain = (named + related).sorted { Self.order($0.id, $1.id) }
        for index in chain.indices { chain[index].message = self.causes.message(chain[index].cause) }
        return (chain, others, searched)
    }

    /// Suspected URLs among the entries: list additions whose reason is a suspicion, and the notes
    /// that record one without a blacklist entry (whitelisted, feature off, no URL).
    static func suspicions(in events: [ExecutorWhy.Event]) -> [ExecutorWhy.SuspectedURL] {
        var seen = Set<String>()
        var named = Set<String>()
        // One suspicion is a list entry and a note of the same message: shown once.
        return events.filter { seen.insert($0.id).inserted }.sorted { order($0.id, $1.id) }.compactMap {
            event -> ExecutorWhy.SuspectedURL? in
            guard event.executor == nil else { return nil }
            var url: String?
            if event.kind == "list", event.reason.hasPrefix("suspected") {
                url = event.url
            } else if event.kind == "note", event.reason.hasPrefix("URL "), event.reason.contains(" suspected") {
                url = String(event.reason.dropFirst(4).prefix { $0 != " " })
            }
            guard let url, named.insert(url + "\u{0}" + event.cause).inserted else { return nil }
            return .init(url: url, reason: event.reason, cause: event.cause, time: event.time)
        }
    }

    /// Stream ids compare as (ms, n), not as text.
    static func order(_ a: String, _ b: String) -> Bool {
        parts(a) < parts(b)
    }

    private static func isAfterOrAt(_ a: String, _ b: String) -> Bool { !order(a, b) }

    private static func parts(_ id: String) -> (UInt64, UInt64) {
        let split = id.split(separator: "-")
        return (UInt64(split.first ?? "") ?? 0, UInt64(split.dropFirst().first ?? "") ?? 0)
    }
}
