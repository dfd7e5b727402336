import NIOConcurrencyHelpers

/// Totals of accepted and rejected messages, for /metrics.
final class IngressCounters: Sendable {
    private let box = NIOLockedValueBox((accepted: UInt64(0), rejected: [Int: UInt64]()))

    func accepted(_ count: Int) {
        box.withLockedValue { $0.accepted += UInt64(count) }
    }

    func rejected(_ status: Int, count: Int = 1) {
        box.withLockedValue { $0.rejected[status, default: 0] += UInt64(count) }
    }

    var snapshot: (accepted: UInt64, rejected: [Int: UInt64]) { box.withLockedValue { $0 } }
}
