/// Who holds an app's lease, as `mimic:cluster:lease:{app}` stores it: `<token> <instance>`.
struct LeaseHolder: Sendable, Equatable {
    var instance: String
    /// The fencing token the holder got when it took the lease (DESIGN section 11).
    var token: UInt64

    /// The stored value: the token first, so an instance name with a space still parses.
    var value: String { "\(token) \(instance)" }

    /// Parses a stored value: decimal digits up to the first space are the token, everything after
    /// it is the instance. Nil for anything else, which no instance holds (an acquire takes it).
    init?(value: [UInt8]) {
        guard let space = value.firstIndex(of: UInt8(ascii: " ")), space > 0, space <= 20 else { return nil }
        let digits = value[..<space]
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let token = UInt64(String(decoding: digits, as: UTF8.self))
        else { return nil }
        self.init(instance: String(decoding: value[(space + 1)...], as: UTF8.self), token: token)
    }

    init(instance: String, token: UInt64) {
        self.instance = instance
        self.token = token
    }
}

/// What `ClusterLeases.acquire` found.
enum LeaseClaim: Sendable, Equatable {
    /// The lease is ours, with this fencing token (new if we were not the owner, else the same).
    case held(token: UInt64)
    /// Another instance holds it.
    case heldBy(LeaseHolder)
}
