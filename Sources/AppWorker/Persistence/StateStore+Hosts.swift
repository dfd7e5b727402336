import Shared

extension StateStore {
    /// Hosts recorded down in `mimic:{app}:host:{name}`; a restarted worker keeps placing nothing
    /// on them until their probe reports them up again.
    func downHosts(_ names: [String]) async throws -> Set<String> {
        var down: Set<String> = []
        for name in names where try await redis.command(["HGET", keys.host(name), "status"]).string == "down" {
            down.insert(name)
        }
        return down
    }
}
