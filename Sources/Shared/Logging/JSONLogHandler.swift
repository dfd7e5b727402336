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
        var fields: [String: Logger.Metadata.Value] = metadata
        if let extra = event.metadata { fields.merge(extra, uniquingKeysWith: { $1 }) }
        fields["time"] = .string(Self.timestamp())
        fields["level"] = .string(event.level.rawValue)
        fields["message"] = .string("\(event.message)")
        fields["component"] = .string(label)
        Self.line(fields).withUnsafeBytes { Self.writeToStandardError($0) }
    }

    /// One log line, newline included.
    static func line(_ fields: [String: Logger.Metadata.Value]) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        appendObject(fields, to: &line)
        line.append(0x0A)
        return line
    }

    /// Keys in sorted order, so a line reads the same whatever the dictionary's order; written by
    /// hand because JSONSerialization (bridging, AnyHashable sorting) cost a worker that logs a
    /// note per low-severity alert about a quarter of its CPU.
    private static func appendObject(_ fields: [String: Logger.Metadata.Value], to line: inout [UInt8]) {
        line.append(UInt8(ascii: "{"))
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            JSONString.append(key, to: &line)
            line.append(UInt8(ascii: ":"))
            // The key came from the dictionary's own keys.
            appendValue(fields[key]!, to: &line)
        }
        line.append(UInt8(ascii: "}"))
    }

    private static func appendValue(_ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        switch value {
        case .string(let text): JSONString.append(text, to: &line)
        case .stringConvertible(let convertible): JSONString.append("\(convertible)", to: &line)
        case .array(let values):
            line.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                appendValue(element, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary): appendObject(dictionary, to: &line)
        }
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

    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-30T07:10:22.123Z`.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = time_t(spec.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = max(0, value)
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        text.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        text.append(UInt8(ascii: "."))
        digits(Int(spec.tv_nsec / 1_000_000), 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}
