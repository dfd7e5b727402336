/// Which apps this instance should own, take, keep or give up (DESIGN section 11), as a pure state
/// machine: the coordinator feeds it what Redis said and the clock, and carries out the steps it
/// returns. Nothing here does I/O, so every ownership decision is tested without Redis.
///
/// Safety does not rest on this plan but on the leases and the fencing token: an instance whose
/// plan is wrong (a stale view of the live instances) can only fail to take a lease or lose one.
/// The plan adds liveness: apps go to the instance `AppPlacement` names, an owner hands an app over
/// when another live instance is named for it, and a lease nobody takes while it is free is taken
/// by any instance rather than left unowned.
struct OwnershipPlan: Sendable {
    /// What this instance holds: the lease's token, and until when (on this instance's monotonic
    /// clock) it may act as owner without a renewal.
    struct Held: Sendable, Equatable {
        var token: UInt64
        var validUntil: ContinuousClock.Instant
    }

    enum Step: Sendable, Equatable {
        /// Take the app's lease (it is free, or expired, or ours).
        case acquire(String)
        case renew(String, token: UInt64)
        /// Stop the app's worker and link, then release the lease so its new owner need not wait.
        case handOver(String, token: UInt64)
        /// The lease is gone (or cannot be known to be ours): stop the worker now.
        case drop(String)
    }

    let instance: String
    let lease: Duration
    private(set) var held: [String: Held] = [:]
    /// When each app was first seen free with another instance named for it.
    private var freeSince: [String: ContinuousClock.Instant] = [:]

    init(instance: String, lease: Duration) {
        self.instance = instance
        self.lease = lease
    }

    /// How long after sending a successful acquire or renewal this instance still acts as owner:
    /// Redis starts the lease's expiry after the command arrives, so counting from the send is
    /// early, and a tenth of the lease more covers clock rate differences and scheduling delays.
    var validity: Duration { lease - lease / 10 }

    /// The steps for one tick. `live`: the instances Redis counts alive (this one included when its
    /// heartbeat went through); `holders`: each app's current lease holder.
    mutating func tick(
        apps: [String], live: [String], holders: [String: LeaseHolder], now: ContinuousClock.Instant
    ) -> [Step] {
        var steps: [Step] = []
        let wanted = Set(apps)
        // Own validity first: a lease that may have expired is no lease, whatever Redis says later.
        for (app, entry) in held.sorted(by: { $0.key < $1.key }) where entry.validUntil <= now || !wanted.contains(app)
        {
            if entry.validUntil <= now {
                held[app] = nil
                steps.append(.drop(app))
            } else {
                steps.append(.handOver(app, token: entry.token))
            }
        }
        let placement = AppPlacement.assign(apps: apps, instances: live.contains(instance) ? live : [])
        for app in apps.sorted() {
            let named = placement[app]
            if let entry = held[app], entry.validUntil > now {
                if let holder = holders[app], holder != LeaseHolder(instance: instance, token: entry.token) {
                    // Redis names another holder: ours expired there (a pause, a lost write).
                    held[app] = nil
                    steps.append(.drop(app))
                } else if let named, named != instance {
                    steps.append(.handOver(app, token: entry.token))
                } else {
                    steps.append(.renew(app, token: entry.token))
                }
                continue
            }
            guard live.contains(instance), holders[app] == nil else {
                freeSince[app] = nil
                continue
            }
            if named == instance {
                freeSince[app] = nil
                steps.append(.acquire(app))
            } else if let since = freeSince[app] {
                // Its named owner has not taken it for a whole lease: it may see another set of
                // live instances, or be dying. An app without owner applies nothing.
                if now - since >= lease { steps.append(.acquire(app)) }
            } else {
                freeSince[app] = now
            }
        }
        for app in freeSince.keys where !wanted.contains(app) { freeSince[app] = nil }
        return steps
    }

    /// An acquire sent at `sentAt` came back `claim`; true when this instance now owns the app
    /// and did not before (start its worker with the token).
    mutating func acquired(_ app: String, claim: LeaseClaim, sentAt: ContinuousClock.Instant) -> Bool {
        guard case .held(let token) = claim else { return false }
        let fresh = held[app] == nil
        held[app] = Held(token: token, validUntil: sentAt + validity)
        freeSince[app] = nil
        return fresh
    }

    /// A renewal sent at `sentAt`: kept extends the validity; refused drops the app.
    mutating func renewed(_ app: String, kept: Bool, sentAt: ContinuousClock.Instant) {
        guard var entry = held[app] else { return }
        if kept {
            entry.validUntil = max(entry.validUntil, sentAt + validity)
            held[app] = entry
        } else {
            held[app] = nil
        }
    }

    /// The app was handed over or dropped: no longer ours, whatever the release did.
    mutating func released(_ app: String) {
        held[app] = nil
    }

    /// A graceful stop gives everything up.
    mutating func releaseAll() -> [(app: String, token: UInt64)] {
        let all = held.sorted { $0.key < $1.key }.map { (app: $0.key, token: $0.value.token) }
        held = [:]
        return all
    }
}
