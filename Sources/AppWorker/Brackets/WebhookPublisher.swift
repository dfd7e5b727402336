import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Shared

/// POSTs each committed online set to `brackets.webhook`, the same JSON as on
/// `mimic:{app}:online` (DESIGN section 6). It runs off the scheduler loop: the loop only hands
/// the view over after the commit, so a slow or dead bracket never delays a decision.
///
/// Only the newest view matters to a bracket: one that arrives while an older one is waiting or
/// being retried replaces it, so the receiver sees versions only grow. Failures (connection
/// errors, timeouts, non-2xx) are retried with exponential backoff, for as long as it takes, and
/// logged once per change between failing and delivering.
actor WebhookPublisher {
    private let url: String
    private let client: HTTPClient
    private let logger: Logger
    private let timeout: TimeAmount
    private var backoff: Backoff
    private var pending: OnlineView?
    private var delivered = 0
    private var draining: Task<Void, Never>?
    private var failing = false
    private var closed = false

    init(
        url: String, logger: Logger, timeout: TimeAmount = .seconds(5),
        backoff: Backoff = .webhook
    ) {
        self.url = url
        self.logger = logger
        self.timeout = timeout
        self.backoff = backoff
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
    }

    func publish(_ view: OnlineView) {
        guard !closed, view.version > max(delivered, pending?.version ?? 0) else { return }
        pending = view
        if draining == nil {
            draining = Task { await self.drain() }
        }
    }

    /// Stops retrying and releases the HTTP client; a view not yet delivered is dropped (the
    /// bracket reads `mimic:{app}:online:view` when it starts).
    func close() async {
        closed = true
        draining?.cancel()
        await draining?.value
        try? await client.shutdown()
    }

    private func drain() async {
        while let view = pending, !closed {
            do {
                try await post(view)
                delivered = max(delivered, view.version)
                if pending?.version == view.version { pending = nil }
                backoff.reset()
                if failing {
                    failing = false
                    logger.notice(
                        "webhook delivering again", metadata: ["url": "\(url)", "version": "\(view.version)"])
                }
            } catch {
                if !failing {
                    failing = true
                    logger.error(
                        "webhook POST failed; retrying with backoff, newer online sets replace this one",
                        metadata: ["url": "\(url)", "version": "\(view.version)", "error": "\(error)"])
                }
                try? await Task.sleep(for: backoff.next())
            }
        }
        draining = nil
    }

    private func post(_ view: OnlineView) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: view.text))
        let response = try await client.execute(request, timeout: timeout)
        // Read the (small) answer so the connection can be reused.
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw WebhookError(status: Int(response.status.code))
        }
    }
}

struct WebhookError: Error, CustomStringConvertible {
    var status: Int
    var description: String { "webhook answered HTTP \(status) (expected 2xx)" }
}
