/// The idempotency keys of the most recent messages of one app, bounded, oldest forgotten first.
///
/// A key can also be given back (`remove`): a rolled-back or voided append, so its sender's retry
/// is appended anew. Its slot in `order` then stays behind, stale: each key maps to the position
/// of its own slot, so reaching a stale slot never forgets the key inserted again since.
struct RecentIDIndex: Sendable {
    let capacity: Int
    /// Key → absolute position of its slot in `order` (`base` + index).
    private var keys: [String: Int] = [:]
    private var order: [String] = []
    private var head = 0
    private var base = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var count: Int { keys.count }

    func contains(_ key: String) -> Bool { keys[key] != nil }

    /// Remembers `key`; returns false when it was already known.
    @discardableResult
    mutating func insert(_ key: String) -> Bool {
        // One hash for the common case (a new key); a known key gets its own position back.
        if let known = keys.updateValue(base + order.count, forKey: key) {
            keys[key] = known
            return false
        }
        order.append(key)
        while keys.count > capacity, head < order.count {
            let oldest = order[head]
            if let slot = keys.index(forKey: oldest), keys[slot].value == base + head { keys.remove(at: slot) }
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
        keys[key] = nil
    }
}
