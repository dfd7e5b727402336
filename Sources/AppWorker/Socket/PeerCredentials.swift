import Foundation
import NIOCore
import Shared

/// Who is on the other end of an app-socket connection, from the kernel (SO_PEERCRED), so a
/// process that can open the 0660 socket but is not the listener cannot inject delivery frames.
enum PeerCredentials {
    /// The uid of the peer process, or nil when the kernel could not tell (then frames are refused).
    static func uid(of channel: any Channel) -> EventLoopFuture<UInt32?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<PeerCredential.UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(PeerCredential.option))
        return future.map { credentials -> UInt32? in credentials.uid }.recover { _ -> UInt32? in nil }
    }
}
