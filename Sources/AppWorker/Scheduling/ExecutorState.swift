/// The life cycle of an executor (DESIGN sections 1 and 7).
enum ExecutorState: String, Sendable, CaseIterable, Codable {
    case initializing
    case standby
    case online
    case dirty
    case cleaning
    case offline

    /// The legal moves. Everything may go offline (host down, operator); only cleaning leads
    /// back into service, so a compromised executor is never reused without being restored.
    func canMove(to next: ExecutorState) -> Bool {
        switch (self, next) {
        case (_, .offline): self != .offline
        case (.initializing, .standby), (.initializing, .cleaning): true
        case (.standby, .online), (.standby, .cleaning): true
        case (.online, .cleaning), (.online, .dirty), (.online, .standby): true
        case (.dirty, .cleaning): true
        case (.cleaning, .initializing): true
        case (.offline, .cleaning): true
        default: false
        }
    }
}
