/// What `body.address` of a WAF or firewall alert names (DESIGN section 4): `ip:port` (nginx's
/// `$upstream_addr`, ModSecurity's audit log) is one endpoint; a bare IP is every endpoint on that
/// address, which names an executor only when it is the only one there. IPv6 as `[addr]:port` or
/// bare `addr`.
public enum AlertAddress: Sendable, Equatable {
    case endpoint(host: String, port: Int)
    case host(String)

    public init(_ text: String) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) {
                self = .endpoint(host: host, port: port)
            } else {
                self = .host(host)
            }
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) {
            self = .endpoint(host: String(parts[0]), port: port)
        } else {
            self = .host(text)
        }
    }

    /// The address part, without IPv6 brackets.
    public var host: String {
        switch self {
        case .endpoint(let host, _): host
        case .host(let host): host
        }
    }

    /// Whether an executor's endpoint (`host:port`, `[v6]:port`) is named by this address.
    public func names(endpoint: String) -> Bool {
        switch (self, AlertAddress(endpoint)) {
        case (.endpoint(let host, let port), .endpoint(let otherHost, let otherPort)):
            host == otherHost && port == otherPort
        case (.host(let host), let other):
            host == other.host
        default:
            false
        }
    }
}
