import Foundation
import NIOCore

/// Who is on the other end of an app-socket connection, from the kernel (SO_PEERCRED), so a
/// process that can open the 0660 socket but is not the listener cannot inject delivery frames.
enum PeerCredentials {
    /// Linux `struct ucred` (pid, uid, gid): Glibc hides it behind _GNU_SOURCE, so Swift does not see it.
    struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// SO_PEERCRED on Linux (asm-generic/socket.h).
    static let peerCredOption: Int32 = 17

    /// The uid of the peer process, or nil when the kernel could not tell (then frames are refused).
    static func uid(of channel: any Channel) -> EventLoopFuture<UInt32?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(peerCredOption))
        return future.map { credentials -> UInt32? in credentials.uid }.recover { _ -> UInt32? in nil }
    }
}
