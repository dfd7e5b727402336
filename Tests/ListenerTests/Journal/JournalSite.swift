import Foundation
import Logging
import Shared
import TestSupport

@testable import Listener

/// Which journal backend a protocol test runs against.
enum JournalBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case file
    case redis

    var description: String { rawValue }
}

/// Where one test's journal lives: a directory (file backend) or a real `redis-server` of its own
/// (Redis-stream backend). Opening twice gives a second journal object on the same place: the
/// same journal after a restart, or, for Redis, another listener instance on the same stream.
final class JournalSite: @unchecked Sendable {
    let backend: JournalBackend
    let app: String
    let directory: String
    let redis: RedisServer?
    var redisSettings: RedisSettings

    init(_ backend: JournalBackend, app: String = "shop", redisArguments: [String] = []) throws {
        self.backend = backend
        self.app = app
        directory = try TempDirectory.make(prefix: "journal-site").path + "/" + app
        if backend == .redis {
            let server = try RedisServer(extraArguments: redisArguments)
            redis = server
            redisSettings = RedisSettings(host: "127.0.0.1", port: server.port, db: 3)
        } else {
            redis = nil
            redisSettings = RedisSettings()
        }
    }

    static func options(maxBacklogBytes: Int = 1 << 30) -> FileJournal.Options {
        FileJournal.Options(fsync: .batch, maxBacklogBytes: maxBacklogBytes)
    }

    func open(_ options: FileJournal.Options = JournalSite.options()) async throws -> any Journal {
        switch backend {
        case .file:
            return try FileJournal.open(app: app, directory: directory, options: options, logger: Logger(label: "test"))
        case .redis:
            return try await openStream(RedisStreamJournal.Options(options))
        }
    }

    func openStream(_ options: RedisStreamJournal.Options) async throws -> RedisStreamJournal {
        var options = options
        options.readBlock = .milliseconds(50)
        return try await RedisStreamJournal.open(
            app: app, redis: redisSettings, options: options, logger: Logger(label: "test"))
    }

    /// Closes and waits until what the journal persists on close is persisted.
    func close(_ journal: any Journal) async {
        if let stream = journal as? RedisStreamJournal {
            await stream.finish()
        } else {
            journal.close()
        }
    }

    /// redis-cli against the app's DB.
    func cli(_ arguments: String...) throws -> [String] {
        guard let redis else { return [] }
        return try redis.cliRaw(arguments, db: redisSettings.db)
    }
}

func journalEntry(_ n: Int, _ prefix: String = "m", padding: Int = 0) -> JournalEntry {
    let body = "{\"id\":\"\(prefix)-\(n)\",\"app\":\"shop\"\(String(repeating: " ", count: padding))}"
    return JournalEntry(key: JournalRecord.key(source: "admin", id: "\(prefix)-\(n)"), envelope: Array(body.utf8))
}

extension Journal {
    func rewind(to seq: UInt64) async -> RewindOutcome {
        await withCheckedContinuation { continuation in
            rewind(to: seq) { continuation.resume(returning: $0) }
        }
    }

    func forwardable() -> [ForwardRecord] { records(from: 1, maxCount: 100_000, maxBytes: 1 << 30) }
}

/// Polls an async condition until it holds or `timeout` passes.
func becomesTrue(within timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}
