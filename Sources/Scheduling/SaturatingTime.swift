extension Int64 {
    /// Unix ms plus a duration that came from a message or a config: validation bounds both, and
    /// this keeps a value that still slipped through (an older journal, a future bound) from
    /// trapping the worker: an expiry past the representable range means "never".
    func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
