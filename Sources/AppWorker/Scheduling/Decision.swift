import Shared

/// What one event changed, for the store to commit in one MULTI/EXEC and the actuator to act on.
struct Decision: Sendable, Equatable {
    struct Transition: Sendable, Equatable {
        var executor: String
        /// nil when the executor is new.
        var from: ExecutorState?
        /// nil when the executor is purged for good.
        var to: ExecutorState?
        var reason: String
        var cause: String
    }

    /// Something worth an audit event that moved no executor: a refused request, an anomaly kept
    /// online because of `min_online`, a suspected URL.
    struct Note: Sendable, Equatable {
        var executor: String?
        var reason: String
        var cause: String
    }

    var transitions: [Transition] = []
    var notes: [Note] = []
    /// Executors whose hash must be rewritten (state, confidence, dissents, flags...).
    var touched: Set<String> = []
    var actions: [DriverAction] = []
    /// Black/white list changes to store and publish on `mimic:{app}:lists`.
    var listChanges: [ListUpdate] = []
    /// Scheduling meta (next id, pause flag) changed.
    var metaChanged = false
    /// Host health to write to `mimic:{app}:host:{name}`.
    var hostChanges: [HostChange] = []

    var isEmpty: Bool {
        transitions.isEmpty && notes.isEmpty && touched.isEmpty && actions.isEmpty && listChanges.isEmpty && !metaChanged
            && hostChanges.isEmpty
    }

    mutating func merge(_ other: Decision) {
        transitions += other.transitions
        notes += other.notes
        touched.formUnion(other.touched)
        actions += other.actions
        listChanges += other.listChanges
        metaChanged = metaChanged || other.metaChanged
        hostChanges += other.hostChanges
    }
}

// The rules speak `Cause`; the events stream stores its text.
extension Decision.Transition {
    init(executor: String, from: ExecutorState?, to: ExecutorState?, reason: String, cause: Cause) {
        self.init(executor: executor, from: from, to: to, reason: reason, cause: cause.text)
    }
}

extension Decision.Note {
    init(executor: String?, reason: String, cause: Cause) {
        self.init(executor: executor, reason: reason, cause: cause.text)
    }
}

/// A probe result for the host's hash; `changed` is false when it only confirms what the pool
/// already believed (the first report after a start), so `since` is kept.
struct HostChange: Sendable, Equatable {
    var report: HostReport
    var changed: Bool
}
