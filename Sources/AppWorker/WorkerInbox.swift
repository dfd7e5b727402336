/// Everything the scheduler loop reacts to, in arrival order, consumed by one task only so the
/// executor pool never needs a lock.
enum WorkerInput: Sendable {
    case frames([InboundFrame], ReplyChannel)
    case schedulerEvent(SchedulerEvent)
}

struct WorkerInbox: Sendable {
    let stream: AsyncStream<WorkerInput>
    private let continuation: AsyncStream<WorkerInput>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: WorkerInput.self)
    }

    func post(_ input: WorkerInput) {
        continuation.yield(input)
    }

    func close() {
        continuation.finish()
    }
}
