import Foundation
import NIOCore
import Shared

/// Finds who serves a live worker socket, so a restarted listener adopts the workers its previous
/// instance started instead of starting a second one per app. The pid is the kernel's
/// (SO_PEERCRED of the listening socket), and the worker's own `{"op":"status"}` must name the
/// same one: a process that merely claims a pid is never adopted, so never signalled in its place.
enum SocketOwnerProbe {
    /// A socket nobody serves is refused at once; a live worker busy replaying a backlog on a loaded
    /// machine may take seconds to answer, and guessing "dead" then would start a second worker.
    static let answerTimeout: TimeAmount = .seconds(5)

    enum Owner: Sendable, Equatable {
        /// Nobody serves the socket: start a worker.
        case none
        case worker(ProcessIdentity)
        /// The socket is served, but its status names another pid than the kernel does.
        case impostor(listening: pid_t, claimed: Int)
    }

    static func owner(socketPath: String) async -> Owner {
        guard
            case .success(let lines) = await WorkerSocketQuery.ask(
                socketPath: socketPath, ops: [.status],
                timeout: answerTimeout),
            let line = lines.first,
            let status = try? JSONDecoder().decode(WorkerStatus.self, from: Data(line.utf8)),
            let listening = PeerCredential.listenerPID(unixPath: socketPath)
        else { return .none }
        guard status.pid == Int(listening) else { return .impostor(listening: listening, claimed: status.pid) }
        guard let identity = ProcessIdentity.of(listening) else { return .none }
        // Taken after the identity: if the owner died and its pid was reused in between, the socket
        // has no listener any more.
        guard PeerCredential.listenerPID(unixPath: socketPath) == listening else { return .none }
        return .worker(identity)
    }
}
