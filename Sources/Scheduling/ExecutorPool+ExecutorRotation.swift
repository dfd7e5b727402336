import Foundation
import Shared

/// Per-executor timed rotation (`scheduling.rotate_per_executor`, issue 16 item 4). One clock
/// that always rotates the longest-online executor lets whoever owns an executor learn when its
/// clean image comes: it is next once it is the oldest, one period of about `rotate_every` later.
/// Here each executor's time online is drawn on its own, exponential with mean
/// `online × rotate_every` (the clock's rotation rate), and the exponential is memoryless: how
/// long an executor has been online says nothing about how long it has left. Checked on the
/// housekeeping tick; the rotation clock is not used.
extension ExecutorPool {
    /// Draws are capped at this many means, so no executor escapes rotation for good.
    static let lifetimeCapInMeans = 8.0

    /// How long `id`, online since `since`, stays online before its timed rotation: a keyed hash
    /// of the id and of when it went online (an executor comes back online after each cleaning,
    /// and each stint needs a draw of its own), not a draw from the pool's stream, so it needs no
    /// memory and does not move seeded selections.
    func onlineLifetimeMs(_ id: String, since: Int64) -> Int64 {
        let mean = Double(settings.policy.rotateEveryMs) * Double(max(1, settings.replicas.online))
        // FNV-1a over the id, keyed, then the splitmix64 finaliser to spread the bits.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ rotationKey
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        for shift in stride(from: 0, to: 64, by: 8) {
            hash = (hash ^ (UInt64(bitPattern: since) >> UInt64(shift) & 0xFF)) &* 0x0000_0100_0000_01B3
        }
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        hash ^= hash >> 31
        // Uniform in (0, 1), never 0, so the logarithm is finite.
        let uniform = (Double(hash >> 11) + 0.5) / 9_007_199_254_740_992
        let drawn = min(-log(uniform), Self.lifetimeCapInMeans) * mean
        return Int64(drawn.rounded())
    }

    /// Rotates the online executors whose own time is up, earliest first, while a standby can
    /// take each one's place; the others wait for the next tick (no note: ticks come every
    /// 500 ms and would flood the events).
    mutating func rotateExpiredExecutors(now: Int64, into decision: inout Decision) {
        guard settings.policy.rotatePerExecutor, settings.policy.rotateEveryMs > 0, !meta.paused else { return }
        let due = executors.values.filter { $0.state == .online }
            .map { (id: $0.id, at: $0.since.saturatingAdding(onlineLifetimeMs($0.id, since: $0.since))) }
            .filter { $0.at <= now }
            .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        for executor in due {
            guard count(.standby) > 0 else { return }
            move(
                executor.id, to: .cleaning,
                reason: "timed rotation (its own time online, drawn per executor: rotate_per_executor)",
                cause: .timer, now: now, into: &decision)
        }
    }
}
