/// `log_export: { syslog, facility, hostname, tls }` (issue 18 item 2): where a worker sends every
/// event of its app's events stream, as RFC 5424 syslog over TCP (RFC 6587 octet counting).
public struct LogExportSettings: Sendable, Equatable {
    public var syslog: SyslogTarget
    public var facility: SyslogFacility
    /// The HOSTNAME field; nil: the machine's host name (a container's is rarely the one wanted).
    public var hostname: String?
    /// Only with a `tls://` target.
    public var tls: SyslogTLS?

    public init(
        syslog: SyslogTarget, facility: SyslogFacility = .local0, hostname: String? = nil, tls: SyslogTLS? = nil
    ) {
        self.syslog = syslog
        self.facility = facility
        self.hostname = hostname
        self.tls = tls
    }
}

/// `tcp://host:port` or `tls://host:port`.
public struct SyslogTarget: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var usesTLS: Bool

    public init(host: String, port: Int, usesTLS: Bool) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    /// `[::1]` for an IPv6 literal, so the text reads back as written.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(usesTLS ? "tls" : "tcp")://\(shownHost):\(port)"
    }

    /// Nil for anything but `tcp://` or `tls://`, a host, and a port in 1...65535 with nothing after it.
    public init?(text: String) {
        let usesTLS: Bool
        let rest: Substring
        if text.hasPrefix("tcp://") {
            usesTLS = false
            rest = text.dropFirst("tcp://".count)
        } else if text.hasPrefix("tls://") {
            usesTLS = true
            rest = text.dropFirst("tls://".count)
        } else {
            return nil
        }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains(" "),
            portText.allSatisfy(\.isASCII), let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        self.init(host: String(host), port: port, usesTLS: usesTLS)
    }
}

/// The facilities an operator would route a scheduler's audit trail by (RFC 5424 section 6.2.1).
public enum SyslogFacility: String, Sendable, Equatable, CaseIterable {
    case user, daemon, auth, authpriv, syslog
    case local0, local1, local2, local3, local4, local5, local6, local7

    public var code: Int {
        switch self {
        case .user: 1
        case .daemon: 3
        case .auth: 4
        case .syslog: 5
        case .authpriv: 10
        case .local0: 16
        case .local1: 17
        case .local2: 18
        case .local3: 19
        case .local4: 20
        case .local5: 21
        case .local6: 22
        case .local7: 23
        }
    }
}

/// `log_export.tls`: the collector's CA (nil: the system's trust store), an optional client
/// certificate for collectors that authenticate senders, and the name to verify when the target
/// is an address.
public struct SyslogTLS: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var serverName: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
    }
}

extension ConfigDecoder {
    /// `log_export` absent or null: no export.
    func logExport(_ top: MappingReader) -> LogExportSettings?? {
        guard let node = top.value("log_export"), !node.isNull else { return .some(nil) }
        let path = top.path("log_export")
        guard let map = mapping(node, path, keys: ["syslog", "facility", "hostname", "tls"]) else { return nil }
        let target = map.required("syslog") { node, path -> SyslogTarget? in
            guard let text = string(node, path) else { return nil }
            guard let target = SyslogTarget(text: text) else {
                report(node.mark, path, "expected tcp://host:port or tls://host:port")
                return nil
            }
            return target
        }
        let facility = map.optional("facility", default: .local0) { choice($0, $1, SyslogFacility.allCases) }
        let hostname = map.nullable("hostname", syslogHostname)
        let tls = map.nullable("tls", syslogTLS)
        guard let target, let facility, let hostname, let tls else { return nil }
        if tls != nil, !target.usesTLS {
            report(map.value("tls")?.mark ?? node.mark, map.path("tls"), "only allowed with a tls:// syslog target")
            return nil
        }
        return .some(
            LogExportSettings(
                syslog: target, facility: facility, hostname: hostname,
                tls: target.usesTLS ? (tls ?? SyslogTLS()) : nil))
    }

    /// RFC 5424's HOSTNAME: 1 to 255 printable US-ASCII characters, no space.
    private func syslogHostname(_ node: YamlNode, _ path: String) -> String? {
        guard let text = nonEmptyString(node, path) else { return nil }
        guard text.utf8.count <= 255, text.utf8.allSatisfy({ (33...126).contains($0) }) else {
            report(node.mark, path, "expected 1 to 255 printable ASCII characters without spaces")
            return nil
        }
        return text
    }

    private func syslogTLS(_ node: YamlNode, _ path: String) -> SyslogTLS? {
        guard let map = mapping(node, path, keys: ["ca_file", "cert_file", "key_file", "server_name"]) else {
            return nil
        }
        let caFile = map.nullable("ca_file", nonEmptyString)
        let certFile = map.nullable("cert_file", nonEmptyString)
        let keyFile = map.nullable("key_file", nonEmptyString)
        let serverName = map.nullable("server_name", nonEmptyString)
        if let certFile, let keyFile, (certFile == nil) != (keyFile == nil) {
            let missing = certFile == nil ? "cert_file" : "key_file"
            report(node.mark, map.path(missing), "required key missing (cert_file and key_file go together)")
            return nil
        }
        guard let caFile, let certFile, let keyFile, let serverName else { return nil }
        return SyslogTLS(
            caFile: caFile.map(resolvedPath), certFile: certFile.map(resolvedPath), keyFile: keyFile.map(resolvedPath),
            serverName: serverName)
    }
}
