import Foundation
import Logging

/// One JSON object per line on stderr: time, level, app, message, then the metadata fields
/// (DESIGN section 9). Never pass secrets or message bodies as metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) {
        self.label = label
    }

    /// Installs the handler for the whole process; `app` is added to every line when given.
    public static func bootstrap(app: String?, level: Logger.Level = .info) {
        // A stderr whose reader went away (the listener's log drain of a killed listener) must
        // fail the write with EPIPE, not end the process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            if let app { handler.metadata["app"] = .string(app) }
            return handler
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: Any] = [
            "time": Self.timestamp(),
            "level": event.level.rawValue,
            "message": "\(event.message)",
            "component": label,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = Self.plain(value)
        }
        guard var data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        data.withUnsafeBytes { Self.writeToStandardError($0) }
    }

    /// write(2), not FileHandle: FileHandle's write stops the process when the write fails, and a
    /// supervised worker's stderr is a pipe into the listener (its log drain). When the listener is
    /// killed, that pipe has no reader any more, yet the worker must go on (the next listener
    /// adopts it): the line is dropped instead.
    private static func writeToStandardError(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var written = 0
        while written < bytes.count {
            let result = write(STDERR_FILENO, base + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return
            }
            written += result
        }
    }

    private static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): "\(convertible)"
        case .array(let values): values.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }

    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = time_t(spec.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
            parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int(spec.tv_nsec / 1_000_000))
    }
}
