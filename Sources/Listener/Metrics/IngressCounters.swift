import NIOConcurrencyHelpers

/// Totals of accepted and rejected messages, for /metrics.
final class IngressCounters: Sendable {
    private let box = NIOLockedValueBox((accepted: UInt64(0), rejected: [Int: UInt64](), cut: UInt64(0)))

    func accepted(_ count: Int) {
        box.withLockedValue { $0.accepted += UInt64(count) }
    }

    func rejected(_ status: Int, count: Int = 1) {
        box.withLockedValue { $0.rejected[status, default: 0] += UInt64(count) }
    }

    /// A TCP connection closed because its peer left its answers unread (TCPSession).
    func cutForUnreadAnswers() {
        box.withLockedValue { $0.cut += 1 }
    }

    var snapshot: (accepted: UInt64, rejected: [Int: UInt64], cut: UInt64) { box.withLockedValue { $0 } }
}
