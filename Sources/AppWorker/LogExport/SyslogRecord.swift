import Foundation
import Shared

/// One entry of `mimic:{app}:events`: its stream id and its fields (name, value, …, as XADD took them).
struct StreamEvent: Sendable, Equatable {
    var id: String
    var fields: [String]

    func value(_ name: String) -> String? {
        var index = fields.startIndex
        while index + 1 < fields.endIndex {
            if fields[index] == name { return fields[index + 1] }
            index += 2
        }
        return nil
    }
}

/// The RFC 5424 header fields that are the same for every event one worker sends.
struct SyslogOrigin: Sendable, Equatable {
    var app: String
    var facility: SyslogFacility
    var hostname: String
    var procID: String

    static let appName = "mimic-worker"

    init(app: String, facility: SyslogFacility, hostname: String?, procID: Int32) {
        self.app = app
        self.facility = facility
        self.hostname = SyslogRecord.headerToken(hostname ?? ProcessInfo.processInfo.hostName, limit: 255)
        self.procID = "\(procID)"
    }
}

/// An event as an RFC 5424 message in RFC 6587 octet-counted framing (`LEN SP MSG`): counting
/// octets, not scanning for a newline, is what lets a reason or URL carry any byte.
///
/// Every field of the stream entry goes into one structured-data element, so a collector can
/// filter on `to="dirty"` or join on `cause` (the message id) without parsing prose; `event_id`
/// is the stream id, the key to deduplicate on after a resend.
enum SyslogRecord {
    /// 32473 is the enterprise number RFC 5612 reserves for documentation; a site with its own
    /// number rewrites nothing else.
    static let structuredDataID = "mimic@32473"

    static func frame(_ event: StreamEvent, origin: SyslogOrigin) -> [UInt8] {
        let message = Array(text(event, origin: origin).utf8)
        return Array("\(message.count) ".utf8) + message
    }

    static func text(_ event: StreamEvent, origin: SyslogOrigin) -> String {
        let kind = event.value("kind") ?? ""
        let priority = origin.facility.code * 8 + severity(event)
        let timestamp = event.value("time").flatMap(Int64.init).flatMap(Self.timestamp(unixMillis:)) ?? "-"
        var data = "[\(structuredDataID) app=\"\(escaped(origin.app))\" event_id=\"\(escaped(event.id))\""
        var index = event.fields.startIndex
        while index + 1 < event.fields.endIndex {
            let name = parameterName(event.fields[index])
            if !name.isEmpty, name != "app", name != "event_id" {
                data += " \(name)=\"\(escaped(event.fields[index + 1]))\""
            }
            index += 2
        }
        data += "]"
        return "<\(priority)>1 \(timestamp) \(origin.hostname) \(SyslogOrigin.appName) \(origin.procID) "
            + "\(headerToken(kind, limit: 32)) \(data) \(summary(event))"
    }

    /// Warning for what an operator must look at (a dead letter, skipped journal records, a host
    /// down), notice for an ejection, informational for the rest.
    static func severity(_ event: StreamEvent) -> Int {
        switch event.value("kind") {
        case "dead_letter", "gap": 4
        case "host" where event.value("to") == "down": 4
        case "transition" where event.value("to") == "dirty": 5
        default: 6
        }
    }

    /// A line a person reads in the collector's own view; the structured data is the record.
    static func summary(_ event: StreamEvent) -> String {
        let reason = event.value("reason") ?? ""
        switch event.value("kind") {
        case "transition":
            let executor = event.value("executor") ?? "?"
            return "\(executor) \(event.value("from") ?? "?") -> \(event.value("to") ?? "?"): \(reason)"
        case "host":
            return "host \(event.value("host") ?? "?") \(event.value("to") ?? "?"): \(reason)"
        case "list":
            return "\(event.value("list") ?? "list") \(event.value("op") ?? "?") \(event.value("url") ?? ""): \(reason)"
        default:
            return reason.isEmpty ? (event.value("kind") ?? "event") : reason
        }
    }

    /// RFC 5424 PARAM-VALUE: `"`, `\` and `]` are escaped with a backslash.
    static func escaped(_ value: String) -> String {
        guard value.contains(where: { $0 == "\"" || $0 == "\\" || $0 == "]" }) else { return value }
        var result = ""
        result.reserveCapacity(value.utf8.count + 4)
        for character in value {
            if character == "\"" || character == "\\" || character == "]" { result.append("\\") }
            result.append(character)
        }
        return result
    }

    /// SD-NAME: 1 to 32 printable US-ASCII characters but `=`, space, `]` and `"`.
    static func parameterName(_ name: String) -> String {
        String(
            String.UnicodeScalarView(
                name.unicodeScalars.filter { (33...126).contains($0.value) && !"=]\"".unicodeScalars.contains($0) }
                    .prefix(32)))
    }

    /// HOSTNAME, APP-NAME, PROCID and MSGID: printable US-ASCII up to `limit`, `-` (NILVALUE) when empty.
    static func headerToken(_ text: String, limit: Int) -> String {
        let kept = String(
            String.UnicodeScalarView(text.unicodeScalars.filter { (33...126).contains($0.value) }.prefix(limit)))
        return kept.isEmpty ? "-" : kept
    }

    /// RFC 3339 in UTC with milliseconds, as RFC 5424 section 6.2.3 allows; nil outside years
    /// 1970...9999, which the format cannot carry (the header then says NILVALUE).
    static func timestamp(unixMillis: Int64) -> String? {
        guard unixMillis >= 0, unixMillis < 253_402_300_800_000 else { return nil }
        var seconds = time_t(unixMillis / 1000)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return nil }
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))"
            + "T\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))"
            + ".\(padded(Int32(unixMillis % 1000), 3))Z"
    }
}
