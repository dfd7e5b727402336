/// The seam between scheduling decisions and executor hosts: one driver per host.
/// Implementations must be safe to call concurrently and must not block the caller's thread.
protocol Driver: Sendable {
    /// Creates and starts the executor; returns its endpoint `host:port`.
    func create(_ target: DriverTarget) async throws -> String
    /// Restores the executor from its clean image; returns its endpoint if it changed.
    func clean(_ target: DriverTarget) async throws -> String?
    func remove(_ target: DriverTarget) async throws
    /// Ids of the executors of this app that exist on the host.
    func list() async throws -> [String]
    /// The same, with those among them that exist but do not run (the online check treats an
    /// online or standby one as gone; an unrecorded one is still removed).
    func listWithStopped() async throws -> (ids: [String], stopped: Set<String>)
    /// The most one call may take; the actuator and the online check give up on it after that,
    /// so a driver whose own timeouts fail still never holds an action slot for good.
    var actionTimeout: Duration { get }
    /// Writes what an analyst needs of a dirty executor into `directory` (which exists) before
    /// anything cleans it; returns the parts that could not be kept, each as one sentence. Throws
    /// when nothing could be kept, `InspectUnsupported` when the driver has no way to look.
    func inspect(_ target: DriverTarget, into directory: String, export: Bool) async throws -> [String]
}

extension Driver {
    /// Drivers that cannot tell a stopped executor from a running one list every one as running.
    func listWithStopped() async throws -> (ids: [String], stopped: Set<String>) { (try await list(), []) }

    func inspect(_ target: DriverTarget, into directory: String, export: Bool) async throws -> [String] {
        throw InspectUnsupported("the driver of host \(target.host) cannot inspect executors")
    }
}

/// The driver has no way to capture evidence (a command host without an `inspect` hook): recorded
/// as such, not as a failure.
struct InspectUnsupported: Error, Sendable, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct DriverTarget: Sendable, Equatable {
    var app: String
    var executor: String
    var variant: String
    var host: String
}

struct DriverError: Error, Sendable, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
