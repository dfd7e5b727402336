/// The idempotency keys of the most recent messages of one app, bounded, oldest forgotten first.
///
/// A key can also be given back (`remove`): a rolled-back or voided append, so its sender's retry
/// is appended anew. Its slot in `order` then stays behind, dead: eviction skips dead slots, so
/// `capacity` live keys are always kept.
///
/// Every accepted message passes through `insert`, so it is built for that: the key is hashed
/// once (`Hasher`, seeded per process, so a sender cannot aim keys at one bucket), and the table
/// is open addressing over positions in `order` with the hash beside each position, so probing
/// and forgetting the oldest key touch no string and hash nothing again. A `[String: Int]` took
/// three hashes and a dictionary deletion per message: 13 % of the listener's CPU in
/// `mimic-bench throughput --profile` (BENCHMARKS.md, issue 15).
struct RecentIDIndex: Sendable {
    let capacity: Int

    private struct Slot: Sendable {
        var hash: Int
        /// Absolute position of the key in `order` (`base` + index); `empty` when free.
        var position: Int
        static let empty = Slot(hash: 0, position: -1)
    }

    private struct Entry: Sendable {
        var key: String
        var hash: Int
        var live: Bool
    }

    /// Linear probing, at most half full. It starts small and doubles as keys come, up to twice
    /// `capacity` + 1: a table sized for the full window up front took 4 MB per app, 200 MB for
    /// the 50 apps of `mimic-bench fleet`, idle ones included.
    private var table: [Slot]
    private var mask: Int
    /// Keys in insertion order; those before `head` are forgotten, awaiting compaction.
    private var order: [Entry] = []
    private var head = 0
    private var base = 0
    private(set) var count = 0

    /// `initialSlots`: a power of two; tests start at 8 so that keys share probe runs and the
    /// table grows while they run.
    init(capacity: Int, initialSlots: Int = RecentIDIndex.initialSize) {
        precondition(capacity > 0 && capacity <= 1 << 40)
        precondition(initialSlots >= 8 && initialSlots & (initialSlots - 1) == 0)
        self.capacity = capacity
        table = Array(repeating: .empty, count: initialSlots)
        mask = initialSlots - 1
    }

    static let initialSize = 64

    /// The table's slots: what the index's memory grows with.
    var slotCount: Int { table.count }

    func contains(_ key: String) -> Bool {
        if case .found = probe(key, hash: key.hashValue) { return true }
        return false
    }

    /// Remembers `key`; returns false when it was already known.
    @discardableResult
    mutating func insert(_ key: String) -> Bool {
        let hash = key.hashValue
        guard case .free(var index) = probe(key, hash: hash) else { return false }
        if (count + 1) * 2 > table.count {
            grow()
            index = freeSlot(hash: hash)
        }
        table[index] = Slot(hash: hash, position: base + order.count)
        order.append(Entry(key: key, hash: hash, live: true))
        count += 1
        while count > capacity, head < order.count {
            let oldest = order[head]
            if oldest.live {
                forget(hash: oldest.hash, position: base + head)
                order[head].live = false
                count -= 1
            }
            head += 1
        }
        if head > capacity {
            order.removeFirst(head)
            base += head
            head = 0
        }
        return true
    }

    /// Forgets `key` (given back); keys it pushed out when inserted stay forgotten.
    mutating func remove(_ key: String) {
        let hash = key.hashValue
        guard case .found(let index) = probe(key, hash: hash) else { return }
        order[table[index].position - base].live = false
        count -= 1
        vacate(index)
    }

    private enum Probe {
        case found(Int)
        case free(Int)
    }

    private func probe(_ key: String, hash: Int) -> Probe {
        var index = hash & mask
        while true {
            let slot = table[index]
            if slot.position < 0 { return .free(index) }
            if slot.hash == hash, order[slot.position - base].key == key { return .found(index) }
            index = (index + 1) & mask
        }
    }

    /// Doubles the table; the stored hashes place every slot again without hashing a key.
    private mutating func grow() {
        let old = table
        table = Array(repeating: .empty, count: old.count * 2)
        mask = table.count - 1
        for slot in old where slot.position >= 0 { table[freeSlot(hash: slot.hash)] = slot }
    }

    private func freeSlot(hash: Int) -> Int {
        var index = hash & mask
        while table[index].position >= 0 { index = (index + 1) & mask }
        return index
    }

    /// Removes the table's slot for the key at `position` (live, so its slot exists).
    private mutating func forget(hash: Int, position: Int) {
        var index = hash & mask
        while table[index].position != position { index = (index + 1) & mask }
        vacate(index)
    }

    /// Frees `index` and moves later slots of the same probe run back, so no lookup stops early
    /// at the hole (deletion without tombstones for linear probing).
    private mutating func vacate(_ index: Int) {
        var hole = index
        var next = index
        while true {
            next = (next + 1) & mask
            let slot = table[next]
            if slot.position < 0 { break }
            let home = slot.hash & mask
            // The slot may move into the hole only if its home is not cyclically in (hole, next].
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if stays { continue }
            table[hole] = slot
            hole = next
        }
        table[hole] = .empty
    }
}
