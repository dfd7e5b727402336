import Foundation
import Testing

/// Which tests may run side by side, so that plain `swift test` needs no list of suites (issue 17).
///
/// Suites that start real processes (Redis, listener, worker, stand-ins) carry `.startsProcesses`
/// and run alongside each other. A few suites load the machine enough to starve those tests'
/// time bounds (a stopped Redis must time out within seconds): they carry `.runsAlone` and never
/// overlap another suite that carries either trait. Both act per test case, so a heavy suite lets
/// the others in between its tests; `.serialized` still orders the tests within a suite.
///
/// On Linux every test target runs in one test process, so one in-process gate covers them all.
extension Trait where Self == MachineGate.Scope {
    /// Runs alongside other tests that start processes; never alongside a `.runsAlone` one.
    public static var startsProcesses: Self { Self(exclusive: false) }
    /// Runs with no other process-starting test (`.startsProcesses` or `.runsAlone`) at the same time.
    public static var runsAlone: Self { Self(exclusive: true) }
}

/// A first-come first-served reader-writer gate: a waiting exclusive holder keeps later shared
/// ones out, so a heavy suite is not starved by a stream of light ones.
public actor MachineGate {
    public static let shared = MachineGate()

    /// Set while the current task holds the gate (either way): nested scopes, from a trait on a
    /// suite and on its test, do not take it twice.
    @TaskLocal static var held = false

    private var sharedHolders = 0
    private var exclusiveHeld = false
    private var waiting: [(exclusive: Bool, resume: CheckedContinuation<Void, Never>)] = []

    private func mayEnter(exclusive: Bool) -> Bool {
        exclusive ? !exclusiveHeld && sharedHolders == 0 : !exclusiveHeld
    }

    private func enter(exclusive: Bool) {
        if exclusive { exclusiveHeld = true } else { sharedHolders += 1 }
    }

    func acquire(exclusive: Bool) async {
        if waiting.isEmpty && mayEnter(exclusive: exclusive) {
            enter(exclusive: exclusive)
            return
        }
        await withCheckedContinuation { waiting.append((exclusive, $0)) }
    }

    func release(exclusive: Bool) {
        if exclusive { exclusiveHeld = false } else { sharedHolders -= 1 }
        while let next = waiting.first, mayEnter(exclusive: next.exclusive) {
            waiting.removeFirst()
            enter(exclusive: next.exclusive)
            next.resume.resume()
        }
    }

    /// True inside a test that holds the gate (used by `ChildProcess.spawn` to catch a suite that
    /// starts processes without saying so).
    public static var isHeld: Bool { held }

    public struct Scope: SuiteTrait, TestTrait, TestScoping {
        let exclusive: Bool

        /// On a suite: applies to each of its tests.
        public var isRecursive: Bool { true }

        /// Per test case (each argument of a parameterized test), never around a whole suite:
        /// a suite-long hold would keep the gate while the suite's tests wait for their turn to run.
        public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
            testCase == nil ? nil : self
        }

        public func provideScope(
            for test: Test, testCase: Test.Case?,
            performing function: @Sendable () async throws -> Void
        ) async throws {
            if MachineGate.held { return try await function() }
            await MachineGate.shared.acquire(exclusive: exclusive)
            trace("enter", test)
            do {
                try await MachineGate.$held.withValue(true) { try await function() }
            } catch {
                trace("leave", test)
                await MachineGate.shared.release(exclusive: exclusive)
                throw error
            }
            trace("leave", test)
            await MachineGate.shared.release(exclusive: exclusive)
        }

        /// MIMIC_GATE_TRACE=1: one stderr line per test entering and leaving the gate, to see
        /// what ran alongside what.
        private func trace(_ what: String, _ test: Test) {
            guard ProcessInfo.processInfo.environment["MIMIC_GATE_TRACE"] != nil else { return }
            FileHandle.standardError.write(Data("gate \(what) \(exclusive ? "alone" : "shared") \(test.name)\n".utf8))
        }
    }
}
