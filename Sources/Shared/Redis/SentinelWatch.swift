import NIOPosix
import Synchronization

/// Listens on one sentinel at a time for `+switch-master` of the client's master and counts the
/// switches. A partitioned old master can go on accepting writes that the failover will discard,
/// with no error to tell the client; the sentinels' announcement is what tells it, so the client
/// drops its connection when the count moves (`RedisClient`).
///
/// Runs on a thread of its own: the subscription blocks in poll(2), never on an event loop.
final class SentinelWatch: Sendable {
    private let directory: SentinelDirectory
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let switches = Atomic(0)
    private let stopped = Atomic(false)
    /// How long one wait for a pushed message lasts: bounds how late `stop` is noticed.
    private static let tick: Duration = .milliseconds(250)

    init(directory: SentinelDirectory) {
        self.directory = directory
        thread.start()
        thread.submit { [self] _ in self.run() }
    }

    /// Moves whenever a sentinel announced a new master for this client's master name.
    var generation: Int { switches.load(ordering: .acquiring) }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thread.shutdownGracefully { _ in }
    }

    private func run() {
        var attempt = 0
        while !stopped.load(ordering: .acquiring) {
            let nodes = directory.nodes
            let node = nodes[attempt % nodes.count]
            attempt &+= 1
            do {
                try listen(to: node)
            } catch {
                // Another sentinel next; pace the retries so a fleet whose sentinels are all down
                // does not spin.
                pause(Self.tick)
            }
        }
    }

    private func listen(to node: SentinelSettings.Node) throws {
        let connection = try directory.sentinelConnection(node)
        try connection.send([["SUBSCRIBE", "+switch-master"]])
        while !stopped.load(ordering: .acquiring) {
            guard let reply = try connection.nextPushedReply(within: Self.tick) else { continue }
            guard let words = reply.array?.compactMap(\.string), words.count == 3, words[0] == "message" else {
                continue
            }
            // "<master> <old-ip> <old-port> <new-ip> <new-port>"
            if words[2].split(separator: " ").first.map(String.init) == directory.settings.master {
                switches.add(1, ordering: .acquiringAndReleasing)
            }
        }
    }

    private func pause(_ duration: Duration) {
        let parts = duration.components
        var request = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        nanosleep(&request, nil)
    }
}
