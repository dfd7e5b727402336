import Glibc

/// Every failure of the blocking sockets (connect, read, write) in mimicctl, the bench, the
/// worker's stale-socket check and the tests: which socket, what was being done, and what the
/// operator can do about it.
public struct SocketFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Nothing accepts connections there (ECONNREFUSED); for a Unix socket file, a stale socket.
        case refused
        /// No such socket file (ENOENT).
        case missing
        /// The deadline or the socket's timeout passed first.
        case timedOut
        /// The peer closed the connection in the middle of the exchange.
        case closed
        /// The host name did not resolve.
        case unresolved
        /// The address itself is unusable (a socket path longer than sockaddr_un allows).
        case badAddress
        /// One line outgrew the read buffer's limit.
        case lineTooLong
        /// Any other errno.
        case system
    }

    public let kind: Kind
    /// The socket path or `host:port`.
    public let peer: String
    /// connect, read, write, bind, listen, accept, getsockname.
    public let operation: String
    /// errno of the failed call; 0 when there was none.
    public let code: Int32
    private let detail: String?

    public init(_ kind: Kind, peer: String, operation: String, code: Int32 = 0, detail: String? = nil) {
        self.kind = kind
        self.peer = peer
        self.operation = operation
        self.code = code
        self.detail = detail
    }

    /// Classifies an errno; EAGAIN is what a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) reports.
    public init(errno code: Int32, peer: String, operation: String) {
        let kind: Kind =
            switch code {
            case ECONNREFUSED: .refused
            case ENOENT: .missing
            case EAGAIN, EINPROGRESS, ETIMEDOUT: .timedOut
            case EPIPE, ECONNRESET: .closed
            default: .system
            }
        self.init(kind, peer: peer, operation: operation, code: code)
    }

    /// The short cause, e.g. "connection refused".
    public var reason: String {
        if let detail { return detail }
        return switch kind {
        case .refused: "connection refused"
        case .missing: "no such socket file"
        case .timedOut: "timed out"
        case .closed: "connection closed by the peer"
        case .unresolved: "host name does not resolve"
        case .badAddress: "unusable address"
        case .lineTooLong: "line too long"
        case .system: String(cString: strerror(code))
        }
    }

    /// What to check next.
    public var remedy: String? {
        switch kind {
        case .refused: "is its process running? a socket file left behind by a dead process is stale"
        case .missing: "is its process running, and is the path (run_dir) right?"
        case .timedOut: "the peer is busy or hung"
        case .unresolved: "check the host name"
        case .closed, .badAddress, .lineTooLong, .system: nil
        }
    }

    public var description: String {
        "\(operation) \(peer): \(reason)" + (remedy.map { " (\($0))" } ?? "")
    }
}
