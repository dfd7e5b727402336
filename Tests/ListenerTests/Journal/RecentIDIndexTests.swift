import Testing

@testable import Listener

/// `RecentIDIndex` is an open-addressing table of its own; these runs hold it to the plain
/// dictionary model it replaced (the same answers and count after every step), on tables small
/// enough that nearly every key shares a probe run with others.
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
        var index = RecentIDIndex(capacity: capacity)
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
}
