import Foundation
import NIOCore
import NIOExtras
import NIOPosix
import Shared

/// Asks a worker its `{"op":...}` questions on `<run_dir>/<app>.sock`, one line each, and returns
/// the answer lines in order, on a connection of its own: the delivery link stays a pure frame/ack
/// stream, and a slow or stopped worker costs the caller a timeout, never a stuck request.
enum WorkerSocketQuery {
    struct Failure: Error, CustomStringConvertible, Sendable {
        let description: String
    }

    /// A `Result`, not `throws`: the page asks every worker from one task group, and with Swift
    /// 6.3.1 `-O` a child closure that returns `(name, try await …)` from inside `do`/`catch` is
    /// miscompiled (results lost, then a bad pointer dereference; see docs/compiler-defects.md).
    /// Keeping the throwing out of the callers keeps them out of that construct.
    static func ask(socketPath: String, ops: [SocketOp], timeout: TimeAmount = .seconds(1)) async -> Result<
        [String], Failure
    > {
        await ask(socketPath: socketPath, lines: ops.map(\.line), timeout: timeout)
    }

    /// Questions given as their lines, for ops that name something (`WhyQuestion`).
    static func ask(socketPath: String, lines: [String], timeout: TimeAmount = .seconds(1)) async -> Result<
        [String], Failure
    > {
        do {
            return .success(try await exchange(socketPath: socketPath, lines: lines, timeout: timeout))
        } catch {
            return .failure(error)
        }
    }

    private static func exchange(socketPath: String, lines: [String], timeout: TimeAmount) async throws(Failure)
        -> [String]
    {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure(description: "cannot connect to worker socket \(socketPath): \(Self.reason(error))")
        }
        // Closing the channel ends the inbound sequence, so a worker that never answers (SIGSTOP)
        // turns into a short reply list instead of a request that waits forever.
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        let request = lines.joined()
        var answers: [String] = []
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: request))
                for try await line in inbound {
                    answers.append(String(buffer: line))
                    if answers.count == lines.count { break }
                }
            }
        } catch {
            if answers.count < lines.count {
                throw Failure(description: "worker socket \(socketPath): \(Self.reason(error))")
            }
        }
        guard answers.count == lines.count else {
            throw Failure(
                description: "worker socket \(socketPath): no answer within \(timeout.nanoseconds / 1_000_000) ms")
        }
        return answers
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        return "\(error)"
    }
}
