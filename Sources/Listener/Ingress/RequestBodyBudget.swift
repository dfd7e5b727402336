import Synchronization

/// What the HTTP door may hold of `POST /v1/events` bodies at once, across requests: bytes read
/// and requests in progress. Past either, a request is answered 503 with Retry-After instead of
/// read, so many large or slow senders together cannot exhaust the process every app's ingress
/// goes through.
final class RequestBodyBudget: Sendable {
    let maxBytes: Int
    let maxRequests: Int
    private let bytes = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)

    init(maxBytes: Int, maxRequests: Int) {
        self.maxBytes = maxBytes
        self.maxRequests = maxRequests
    }

    /// False (and nothing taken) when `maxRequests` are already in progress.
    func enter() -> Bool {
        let (now, _) = requests.wrappingAdd(1, ordering: .relaxed)
        guard now > maxRequests else { return true }
        requests.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func leave() { requests.wrappingSubtract(1, ordering: .relaxed) }

    /// Takes `count` bytes unless that would pass `maxBytes`.
    func take(_ count: Int) -> Bool {
        var current = bytes.load(ordering: .relaxed)
        while true {
            let (next, overflow) = current.addingReportingOverflow(count)
            guard !overflow, next <= maxBytes else { return false }
            let (exchanged, original) = bytes.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func give(_ count: Int) { bytes.wrappingSubtract(count, ordering: .relaxed) }

    var bytesInUse: Int { bytes.load(ordering: .relaxed) }
}
