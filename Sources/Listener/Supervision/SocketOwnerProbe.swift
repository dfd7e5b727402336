import Foundation
import NIOCore
import Shared

/// Asks a live worker socket who serves it (`{"op":"status"}` -> `pid`), so a restarted listener
/// adopts the workers its previous instance started instead of starting a second one per app.
enum SocketOwnerProbe {
    /// A socket nobody serves is refused at once; a live worker busy replaying a backlog on a loaded
    /// machine may take seconds to answer, and guessing "dead" then would start a second worker.
    static let answerTimeout: TimeAmount = .seconds(5)

    static func ownerPID(socketPath: String) async -> pid_t? {
        guard
            case .success(let lines) = await WorkerSocketQuery.ask(
                socketPath: socketPath, ops: [.status],
                timeout: answerTimeout),
            let line = lines.first,
            let status = try? JSONDecoder().decode(WorkerStatus.self, from: Data(line.utf8)),
            let pid = Int32(exactly: status.pid), pid > 0, kill(pid, 0) == 0
        else { return nil }
        return pid
    }
}
