import Foundation
import Shared
import Testing

@testable import AppWorker
@testable import Scheduling

private typealias F = Fixtures

/// A list keeps at most `ListBook.maxEntriesPerList` entries: more adds are refused with a note
/// naming the list and what to do, while removes and re-adds of present entries still work.
@Suite struct ListCapTests {
    private func add(_ url: String, op: String = "add", cause: String = "waf") throws -> SchedulerEvent {
        try F.message(
            .waf, .list, ["list": .string("blacklist"), "op": .string(op), "url": .string(url)], cause: cause)
    }

    @Test func aFullListRefusesNewEntriesButNotRemovalsOrPresentOnes() throws {
        var pool = F.pool(F.config())
        for index in 0..<ListBook.maxEntriesPerList {
            let decision = try pool.handle(add("/flood/\(index)"), now: 1_000)
            #expect(decision.listChanges.count == 1)
        }
        let refused = try pool.handle(add("/one-more", cause: "waf-over"), now: 2_000)
        #expect(refused.listChanges.isEmpty)
        #expect(
            refused.notes == [
                .init(
                    executor: nil,
                    reason: "blacklist add /one-more refused: the blacklist holds 10000 entries, the most an app "
                        + "keeps; remove entries or let them expire", cause: "waf-over")
            ])
        // An entry already present is not new: adding it again changes nothing and is no refusal.
        #expect(try pool.handle(add("/flood/7"), now: 2_000).notes.first?.reason.contains("no change") == true)
        // Removing makes room again.
        #expect(try pool.handle(add("/flood/0", op: "remove"), now: 3_000).listChanges.count == 1)
        #expect(try pool.handle(add("/one-more"), now: 3_000).listChanges.map(\.url) == ["/one-more"])
    }
}
