import Shared

/// The app's meta hash holds a fencing token other than this worker's (DESIGN section 11): a
/// newer owner claimed the app, so this worker must not write its state again. The worker exits
/// with status 3 (`WorkerCommand`).
struct FenceLost: Error, Sendable, Equatable {
    var app: String
    /// What was refused: "start with fence 4", "commit 12", ...
    var refused: String
    /// This worker's token (`--fence`).
    var ours: UInt64
    /// The token in `mimic:{app}:meta` field `fence`; "" when absent.
    var stored: String

    /// Whether the stored token is greater than ours, compared as the claim script does.
    var isNewerOwner: Bool {
        let ours = "\(ours)"
        guard stored.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let first = stored.utf8.first, first != UInt8(ascii: "0")
        else { return false }
        return stored.count > ours.count || (stored.count == ours.count && stored > ours)
    }

    /// The stderr line of the exit with status 3.
    var message: String {
        let what = refused
        let holds = stored.isEmpty ? "holds no fence" : "holds fence \(stored)"
        if isNewerOwner {
            return
                "\(app): \(what) refused: \(RedisKeys(app: app).meta) \(holds), newer than this worker's fence \(ours): "
                + "a newer owner runs this app, so this instance must not run it"
        }
        // Smaller or gone: the claim was lost (a Redis that lost writes, a hand edit). Stopping is
        // the safe side: the instance that owns the lease starts a worker that claims again.
        return
            "\(app): \(what) refused: \(RedisKeys(app: app).meta) \(holds), not this worker's fence \(ours): "
            + "its claim no longer holds (another owner, lost writes or a hand edit), so this instance must not go on"
    }
}
