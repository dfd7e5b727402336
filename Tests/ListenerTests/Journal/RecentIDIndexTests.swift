import Testing

@testable import Listener

/// `RecentIDIndex` is an open-addressing table of its own; these runs hold it to the plain
/// dictionary model it replaced (the same answers and count after every step), on tables that
/// start at 8 slots: keys share probe runs, and the table grows while the model runs.
struct RecentIDIndexTests {
    /// The index as it was: a dictionary from key to slot, and the slots in insertion order.
    struct Model {
        let capacity: Int
        var keys: [String: Int] = [:]
        var order: [String] = []
        var head = 0

        mutating func insert(_ key: String) -> Bool {
            if keys[key] != nil { return false }
            keys[key] = order.count
            order.append(key)
            while keys.count > capacity, head < order.count {
                if keys[order[head]] == head { keys[order[head]] = nil }
                head += 1
            }
            return true
        }

        mutating func remove(_ key: String) { keys[key] = nil }
    }

    @Test(arguments: [1, 2, 3, 7, 16, 50])
    func answersAsTheDictionaryModelDoes(capacity: Int) {
        var random = SeededRandom(seed: UInt64(capacity) &* 7919)
        var index = RecentIDIndex(capacity: capacity, initialSlots: 8)
        var model = Model(capacity: capacity)
        let keySpace = capacity * 4 + 3
        for step in 0..<40_000 {
            let key = "left_bracket\u{1F}m-\(Int.random(in: 0..<keySpace, using: &random))"
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                let inserted = index.insert(key)
                let expected = model.insert(key)
                #expect(inserted == expected, "step \(step): insert \(key)")
            case 6..<8:
                index.remove(key)
                model.remove(key)
            default:
                #expect(index.contains(key) == (model.keys[key] != nil), "step \(step): contains \(key)")
            }
            #expect(index.count == model.keys.count, "step \(step)")
            if index.count != model.keys.count { return }
        }
        for key in model.keys.keys { #expect(index.contains(key)) }
    }

    @Test func keepsTheNewestCapacityKeysOverManyCompactions() {
        var index = RecentIDIndex(capacity: 1000)
        var fresh = 0
        for n in 0..<25_000 where index.insert("k\(n)") { fresh += 1 }
        #expect(fresh == 25_000)
        #expect(index.count == 1000)
        #expect(index.contains("k24000") && index.contains("k24999"))
        #expect(!index.contains("k23999") && !index.contains("k0"))
        let again = index.insert("k24500")
        #expect(!again)
    }

    /// Every app has an index of capacity 100,000; an idle one must not hold a table sized for
    /// all of them (50 apps took 200 MB more before it grew on demand).
    @Test func itsTableGrowsWithTheKeysNotWithTheCapacity() {
        var index = RecentIDIndex(capacity: 100_000)
        #expect(index.slotCount == RecentIDIndex.initialSize)
        for n in 0..<1000 { index.insert("k\(n)") }
        #expect(index.slotCount <= 4096)
        for n in 1000..<300_000 { index.insert("k\(n)") }
        #expect(index.slotCount <= 262_144, "at most half full at capacity, no more")
        #expect(index.count == 100_000 && index.contains("k299999") && !index.contains("k199999"))
    }
}
