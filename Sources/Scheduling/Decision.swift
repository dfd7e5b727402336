import Shared

/// What one event changed, for the store to commit in one MULTI/EXEC and the actuator to act on.
package struct Decision: Sendable, Equatable {
    package struct Transition: Sendable, Equatable {
        package var executor: String
        /// nil when the executor is new.
        package var from: ExecutorState?
        /// nil when the executor is purged for good.
        package var to: ExecutorState?
        package var reason: String
        package var cause: String

        package init(executor: String, from: ExecutorState?, to: ExecutorState?, reason: String, cause: String) {
            self.executor = executor
            self.from = from
            self.to = to
            self.reason = reason
            self.cause = cause
        }
    }

    /// Something worth an audit event that moved no executor: a refused request, an anomaly kept
    /// online because of `min_online`, a suspected URL.
    package struct Note: Sendable, Equatable {
        package var executor: String?
        package var reason: String
        package var cause: String

        package init(executor: String?, reason: String, cause: String) {
            self.executor = executor
            self.reason = reason
            self.cause = cause
        }
    }

    package var transitions: [Transition] = []
    package var notes: [Note] = []
    /// Executors whose hash must be rewritten (state, confidence, dissents, flags...).
    package var touched: Set<String> = []
    package var actions: [DriverAction] = []
    /// Black/white list changes to store and publish on `mimic:{app}:lists`.
    package var listChanges: [ListUpdate] = []
    /// Scheduling meta (next id, pause flag) changed.
    package var metaChanged = false
    /// Host health to write to `mimic:{app}:host:{name}`.
    package var hostChanges: [HostChange] = []
    /// Hosts whose executors the drivers should list now, an online check of just them: a host
    /// back up may still run executors purged while it was down, which nothing records any more.
    package var listHosts: Set<String> = []

    package init() {}

    package var isEmpty: Bool {
        transitions.isEmpty && notes.isEmpty && touched.isEmpty && actions.isEmpty && listChanges.isEmpty
            && !metaChanged
            && hostChanges.isEmpty && listHosts.isEmpty
    }

    package mutating func merge(_ other: Decision) {
        transitions += other.transitions
        notes += other.notes
        touched.formUnion(other.touched)
        actions += other.actions
        listChanges += other.listChanges
        metaChanged = metaChanged || other.metaChanged
        hostChanges += other.hostChanges
        listHosts.formUnion(other.listHosts)
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
package struct HostChange: Sendable, Equatable {
    package var report: HostReport
    package var changed: Bool
}
