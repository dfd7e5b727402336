import Shared
import TestSupport

extension RedisServer {
    var settings: RedisSettings { RedisSettings(host: "127.0.0.1", port: port) }

    func client(db: Int = 0, password: String? = nil, commandTimeout: Duration = .seconds(2)) -> RedisClient {
        var settings = self.settings
        settings.db = db
        settings.password = password
        return RedisClient(settings: settings, commandTimeout: commandTimeout)
    }
}

/// Deterministic generator so jittered backoff values are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
