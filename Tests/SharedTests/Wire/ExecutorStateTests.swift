import Shared
import Testing

/// The legality table of DESIGN section 7 as implemented: every one of the 36 cells.
/// Beyond the DESIGN list, the implementation also allows initializing/standby -> cleaning
/// (abnormal before going online) and online -> standby (an operator's demotion, or diversity).
struct ExecutorStateTests {
    typealias S = ExecutorState

    static let legal: Set<[S]> = [
        [.initializing, .standby], [.initializing, .cleaning], [.initializing, .offline],
        [.standby, .online], [.standby, .cleaning], [.standby, .offline],
        [.online, .cleaning], [.online, .dirty], [.online, .standby], [.online, .offline],
        [.dirty, .cleaning], [.dirty, .offline],
        [.cleaning, .initializing], [.cleaning, .offline],
        [.offline, .cleaning],
    ]

    static let cells: [(S, S)] = S.allCases.flatMap { from in S.allCases.map { (from, $0) } }

    @Test("36 cells", arguments: cells)
    func cell(from: S, to: S) {
        #expect(from.canMove(to: to) == Self.legal.contains([from, to]), "\(from) -> \(to)")
    }

    @Test func tableShape() {
        #expect(Self.cells.count == 36)
        #expect(Self.cells.filter { $0.0.canMove(to: $0.1) }.count == 15)
        // No state may stay where it is, and nothing re-enters service without cleaning.
        for state in S.allCases { #expect(!state.canMove(to: state)) }
        #expect(S.allCases.filter { $0.canMove(to: .initializing) } == [.cleaning])
        #expect(S.allCases.filter { $0.canMove(to: .online) } == [.standby])
        #expect(S.allCases.filter { $0.canMove(to: .dirty) } == [.online])
        #expect(
            S.allCases.filter { $0.canMove(to: .offline) } == [.initializing, .standby, .online, .dirty, .cleaning])
        #expect(S.allCases.filter { S.offline.canMove(to: $0) } == [.cleaning])
    }
}
