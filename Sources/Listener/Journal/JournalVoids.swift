import Foundation

/// `voids.json` of an app journal: seq ranges whose records are not messages any more (the part of
/// a multi-app request another journal could not take, answered 503; docs/journal.md, "Requests
/// for several apps"). They are forwarded as void gap lines, and their keys are not remembered at
/// start, so the sender's retry is appended anew. Written atomically like meta.json, before the
/// keys are given back; pruned once their segments are deleted.
struct JournalVoids: Sendable, Equatable {
    var ranges: [ClosedRange<UInt64>] = []

    private struct File: Codable {
        var voids: [[UInt64]]
    }

    static func read(directory: String, app: String) throws -> JournalVoids {
        let path = directory + "/voids.json"
        guard let data = FileManager.default.contents(atPath: path) else { return JournalVoids() }
        guard let file = try? JSONDecoder().decode(File.self, from: data),
            file.voids.allSatisfy({ $0.count == 2 && $0[0] >= 1 && $0[0] <= $0[1] })
        else {
            throw JournalOpenError(
                message:
                    "\(path): not a list of void ranges; if no multi-app request failed lately, move it away"
                    + " (its records would then be forwarded as messages)")
        }
        return JournalVoids(ranges: file.voids.map { $0[0]...$0[1] })
    }

    func write(directory: String) throws {
        let data = try JSONEncoder().encode(File(voids: ranges.map { [$0.lowerBound, $0.upperBound] }))
        try JournalMeta.writeAtomically(data, path: directory + "/voids.json")
    }

    /// Drops the ranges wholly before `seq` (their segments are gone); true when one was dropped.
    mutating func prune(before seq: UInt64) -> Bool {
        let count = ranges.count
        ranges.removeAll { $0.upperBound < seq }
        return ranges.count != count
    }
}
