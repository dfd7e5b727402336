/// The life cycle of an executor (DESIGN sections 1 and 7). Its raw values are the state names of
/// the Redis layout (`mimic:{app}:state:{state}`), of the executor hash and of every status answer.
public enum ExecutorState: String, Sendable, CaseIterable, Codable {
    case initializing
    case standby
    case online
    case dirty
    case cleaning
    case offline

    /// The legal moves. Everything may go offline (host down, operator). An executor taken out
    /// for an anomaly (dirty, offline) comes back only through cleaning, so it is never reused
    /// without being restored. online -> standby is a demotion: an operator's, or the diversity
    /// rule's when a standby keeps the online set less alike.
    public func canMove(to next: ExecutorState) -> Bool {
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
