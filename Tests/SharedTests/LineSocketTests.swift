import Foundation
import Shared
import TestSupport
import Testing

/// The shared blocking line socket over a socketpair: the test holds the raw peer end and
/// writes exactly the bytes, pauses and closes each case needs.
@Suite("Line socket")
struct LineSocketTests {
    /// A connected pair: the line socket under test, and the raw peer descriptor.
    private final class Pair: @unchecked Sendable {
        let socket: LineSocket
        let peer: Int32
        private var peerOpen = true

        init(bufferBytes: Int = 1 << 16, maximumLineBytes: Int = 1 << 24) {
            var fds: [Int32] = [0, 0]
            precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            socket = LineSocket(
                adopting: fds[0], peer: "pair", bufferBytes: bufferBytes, maximumLineBytes: maximumLineBytes)
            peer = fds[1]
        }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes {
                    Glibc.send(peer, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard written > 0 else { return }
                offset += written
            }
        }

        /// Sends `text` from another thread after `delay`, so the reader waits for it mid-line.
        func send(_ text: String, after delay: TimeInterval) -> Thread {
            let thread = Thread { [self] in
                Thread.sleep(forTimeInterval: delay)
                send(text)
            }
            thread.start()
            return thread
        }

        func closePeer() {
            if peerOpen { Glibc.close(peer) }
            peerOpen = false
        }

        deinit { closePeer() }
    }

    @Test func partialLinesAreJoinedAndSeveralLinesInOneReadAreSplit() throws {
        let pair = Pair()
        pair.send("hel")
        _ = pair.send("lo\nwor", after: 0.05)
        #expect(try pair.socket.readLine(timeout: 5) == "hello")
        _ = pair.send("ld\r\n\nlast\n", after: 0.05)
        #expect(try pair.socket.readLine(timeout: 5) == "world\r", "a CR is the caller's to strip")
        #expect(try pair.socket.readLine(timeout: 5) == "")
        #expect(try pair.socket.readLine(timeout: 5) == "last")
    }

    @Test func aLineLongerThanTheBufferGrowsIt() throws {
        let pair = Pair(bufferBytes: 1024)
        let long = String(repeating: "x", count: 300_000)
        _ = pair.send("short\n" + long + "\nafter\n", after: 0)
        #expect(try pair.socket.readLine(timeout: 5) == "short")
        #expect(try pair.socket.readLine(timeout: 5) == long)
        #expect(try pair.socket.readLine(timeout: 5) == "after")
    }

    @Test func aLineBeyondTheLimitIsRefused() throws {
        let pair = Pair(bufferBytes: 1024, maximumLineBytes: 4096)
        _ = pair.send(String(repeating: "y", count: 10_000) + "\n", after: 0)
        #expect {
            try pair.socket.readLine(timeout: 5)
        } throws: { ($0 as? SocketFailure)?.kind == .lineTooLong }
    }

    @Test func theDeadlineBoundsTheWholeLine() throws {
        let pair = Pair()
        pair.send("no newline yet")
        // Bytes keep arriving, but never a newline: the deadline still ends the wait.
        let trickle = Thread {
            for _ in 0..<10 {
                Thread.sleep(forTimeInterval: 0.05)
                pair.send("z")
            }
        }
        trickle.start()
        let started = ContinuousClock.now
        #expect {
            try pair.socket.readLine(timeout: 0.3)
        } throws: { error in
            let failure = error as? SocketFailure
            return failure?.kind == .timedOut && failure?.operation == "read" && failure?.peer == "pair"
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(250) && waited < .seconds(3), "waited \(waited)")
        Thread.sleep(forTimeInterval: 0.6)
        pair.send("\n")
        #expect(
            try pair.socket.readLine(timeout: 5) == "no newline yet" + String(repeating: "z", count: 10),
            "a timeout loses none of the bytes read so far")
    }

    @Test func theReceiveTimeoutEndsABlockingRead() throws {
        let pair = Pair()
        pair.socket.setReceiveTimeout(0.2)
        #expect {
            try pair.socket.readLine()
        } throws: { ($0 as? SocketFailure)?.kind == .timedOut }
    }

    @Test func endOfStreamIsNilAndDropsAnUnfinishedLine() throws {
        let pair = Pair()
        pair.send("one\ntwo")
        pair.closePeer()
        #expect(try pair.socket.readLine(timeout: 5) == "one")
        #expect(try pair.socket.readLine(timeout: 5) == nil)
    }

    @Test func exactReadsTakeBufferedBytesFirstAndReportAShortStream() throws {
        let pair = Pair(bufferBytes: 16)
        pair.send("head\n0123456789abcdefghij")
        #expect(try pair.socket.readLine(timeout: 5) == "head")
        #expect(try pair.socket.read(exactly: 20) == Array("0123456789abcdefghij".utf8))
        pair.send("abc")
        pair.closePeer()
        #expect {
            try pair.socket.read(exactly: 5)
        } throws: { ($0 as? SocketFailure)?.kind == .closed }
    }

    @Test func forEachLineStopsWhenAsked() throws {
        let pair = Pair()
        pair.send("a\nb\nc\n")
        var seen: [String] = []
        let stoppedByCaller = pair.socket.forEachLine { line in
            seen.append(String(decoding: line, as: UTF8.self))
            return seen.count < 2
        }
        #expect(stoppedByCaller && seen == ["a", "b"])
        #expect(try pair.socket.readLine(timeout: 5) == "c")
    }

    @Test func writingToAClosedPeerIsAnErrorNotASignal() throws {
        let pair = Pair()
        pair.closePeer()
        #expect {
            for _ in 0..<100 { try pair.socket.write(String(repeating: "w", count: 65536)) }
        } throws: { ($0 as? SocketFailure)?.kind == .closed }
    }

    @Test func connectFailuresNameThePeerAndTheCause() throws {
        let directory = try TempDirectory.make(prefix: "line-socket")
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.path + "/missing.sock"
        #expect {
            try LineSocket(unixPath: missing)
        } throws: { error in
            let failure = error as? SocketFailure
            return failure?.kind == .missing
                && failure?.description.hasPrefix("connect \(missing): no such socket file") == true
        }

        let stale = directory.path + "/stale.sock"
        close(try PosixSocket.bind(to: PosixSocket.unixAddress(stale)))
        #expect {
            try LineSocket(unixPath: stale)
        } throws: { error in
            let failure = error as? SocketFailure
            return failure?.kind == .refused && failure?.description.contains("stale") == true
        }

        let port = try PosixSocket.freeLoopbackPort()
        #expect {
            try LineSocket(loopbackPort: port)
        } throws: {
            ($0 as? SocketFailure)?.description.hasPrefix("connect 127.0.0.1:\(port): connection refused") == true
        }
    }
}
