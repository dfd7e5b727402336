extension Array where Element == String {
    /// A flat `field, value, field, value…` list (HGETALL, XADD/XRANGE entries) as a dictionary;
    /// a trailing field without value is dropped.
    public var fieldPairs: [String: String] {
        var result: [String: String] = [:]
        for index in stride(from: 0, to: count - 1, by: 2) {
            result[self[index]] = self[index + 1]
        }
        return result
    }
}
