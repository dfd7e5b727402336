/// The scheduler's source of randomness: the system's cryptographic generator, so an attacker
/// cannot predict which executor serves next, or SplitMix64 from a fixed seed for tests and
/// reproducible demos (`scheduling.seed`).
package struct SchedulerRandom: RandomNumberGenerator, Sendable {
    private var seeded: UInt64?

    package init(seed: UInt64?) {
        seeded = seed
    }

    /// Where a seeded stream stands (nil for the system generator), to resume it after a restart.
    package var state: UInt64? { seeded }

    package mutating func next() -> UInt64 {
        guard var state = seeded else {
            var system = SystemRandomNumberGenerator()
            return system.next()
        }
        state &+= 0x9E37_79B9_7F4A_7C15
        seeded = state
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
