/// The idempotency keys of the most recent messages of one app, bounded, oldest forgotten first.
struct RecentIDIndex: Sendable {
    let capacity: Int
    private var keys: Set<String> = []
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var count: Int { keys.count }

    func contains(_ key: String) -> Bool { keys.contains(key) }

    /// Remembers `key`; returns false when it was already known.
    @discardableResult
    mutating func insert(_ key: String) -> Bool {
        guard keys.insert(key).inserted else { return false }
        order.append(key)
        if keys.count > capacity {
            keys.remove(order[head])
            head += 1
            if head > capacity {
                order.removeFirst(head)
                head = 0
            }
        }
        return true
    }
}
