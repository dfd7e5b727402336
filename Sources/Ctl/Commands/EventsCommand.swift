import ArgumentParser
import Foundation
import Shared

/// `mimicctl events <app> [--follow]`: the app's audit trail, the `mimic:{app}:events` stream in
/// the app's Redis DB (DESIGN section 6), found through the app's config in apps_dir.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print one app's scheduling events from its Redis stream, oldest first; --follow waits for new ones.",
        discussion: "With --json each event is one JSON line {\"id\",\"time\",\"fields\"}, also while following.")

    @Argument(help: "The app.")
    var app: String

    @Flag(name: .shortAndLong, help: "Keep printing new events as they are added (Ctrl-C stops).")
    var follow = false

    @Option(name: .shortAndLong, help: "How many of the latest events to print first.")
    var count: Int = 20

    @OptionGroup var config: ConfigOption
    @OptionGroup var apps: AppsDirOption
    @OptionGroup var format: FormatOption

    /// How long one XREAD waits; the Redis command timeout must be longer.
    private static let block = 5000

    struct Event {
        var id: String
        var fields: [(String, String)]

        var milliseconds: Int64 { Int64(id.split(separator: "-").first ?? "") ?? 0 }
        func field(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
    }

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        guard AppName.isValid(app) else { throw ValidationError("'\(app)' is not a valid app name ([a-z0-9-]{1,32})") }
    }

    func run() async throws {
        let appConfig = try apps.loadApp(app, config)
        let redis = appConfig.redis
        let client = RedisClient(settings: redis, commandTimeout: .milliseconds(Self.block + 5000))
        let key = RedisKeys(app: app).events
        do {
            var last = "0-0"
            let latest = try await client.command(["XREVRANGE", key, "+", "-", "COUNT", "\(max(count, 1))"])
            let events = Self.entries(latest).reversed()
            last = events.last?.id ?? last
            for event in events.suffix(count) { try show(event) }
            while follow {
                let reply = try await client.command([
                    "XREAD", "BLOCK", "\(Self.block)", "COUNT", "100", "STREAMS", key, last,
                ])
                // XREAD answers [[key, entries]], or nil when the block timed out.
                for stream in reply.array ?? [] {
                    for event in Self.entries(stream.array?.last ?? .null) {
                        try show(event)
                        last = event.id
                    }
                }
            }
            await client.close()
        } catch let error as RedisError {
            await client.close()
            throw CtlFailure.runtime(
                "app \(app): reading \(key) from Redis \(redis.host):\(redis.port) db \(redis.db) failed: \(error)")
        }
    }

    private static func entries(_ reply: RedisReply) -> [Event] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let flat = parts[1].strings
            else { return nil }
            var fields: [(String, String)] = []
            for index in stride(from: 0, to: flat.count - 1, by: 2) { fields.append((flat[index], flat[index + 1])) }
            return Event(id: id, fields: fields)
        }
    }

    private func show(_ event: Event) throws {
        let time = Output.timestamp(milliseconds: event.milliseconds)
        if format.json {
            let object: [String: Any] = [
                "id": event.id, "time": time,
                "fields": Dictionary(event.fields, uniquingKeysWith: { _, last in last }),
            ]
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(time)  \(Self.describe(event))")
        }
        // Followers read through a pipe (`| grep`), where stdout would otherwise sit in a buffer.
        fflush(nil)
    }

    /// `e3 standby -> online: reason (cause msg-1)` for transitions, `note e3: reason` for notes,
    /// and every field for kinds this version does not know.
    static func describe(_ event: Event) -> String {
        let cause = event.field("cause").flatMap { $0.isEmpty ? nil : " (cause \($0))" } ?? ""
        let reason = event.field("reason") ?? ""
        switch event.field("kind") {
        case "transition":
            return
                "\(event.field("executor") ?? "?") \(event.field("from") ?? "?") -> \(event.field("to") ?? "?"): \(reason)\(cause)"
        case "forensics":
            let manifest = event.field("manifest").flatMap { $0.isEmpty ? nil : " [\($0)]" } ?? ""
            return
                "forensics \(event.field("executor") ?? "?") \(event.field("status") ?? "?"): \(reason)\(manifest)\(cause)"
        case "note":
            let executor = event.field("executor").flatMap { $0.isEmpty ? nil : "\($0): " } ?? ""
            return "note \(executor)\(reason)\(cause)"
        default:
            return event.fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        }
    }
}
