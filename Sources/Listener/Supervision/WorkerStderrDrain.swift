import Foundation
import Shared

/// The supervised worker's stderr: a pipe (a one-way socket pair) the listener reads on a thread of its own, copying every
/// byte to the app's `WorkerLogFile` and on to the listener's own stderr (where workers' lines went
/// before there was a log file). The thread always reads, so a chatty worker never blocks on a
/// full pipe because of the supervisor or an event loop; it ends when every holder of the write end
/// (the worker, and anything it left running with its stderr) has closed it.
enum WorkerStderrDrain {
    static let chunkBytes = 64 * 1024

    /// Opens the pipe and starts the thread; returns the write end for the child's stderr (the
    /// caller hands it over and closes its own copy after the spawn).
    static func start(app: String, log: WorkerLogFile) -> Int32? {
        var ends: [Int32] = [-1, -1]
        // Close-on-exec on both ends from the start (a socket pair: Glibc's pipe2 is not visible
        // to Swift): only the one worker it is made for may hold the write end (its spawn dup2s it
        // onto fd 2), or the drain would never see the end of it.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            return nil
        }
        shutdown(ends[0], Int32(SHUT_WR))
        shutdown(ends[1], Int32(SHUT_RD))
        let readEnd = ends[0]
        let thread = Thread {
            ThreadName.setCurrent("log-\(app)")
            var buffer = [UInt8](repeating: 0, count: chunkBytes)
            // Bytes after the last newline read so far: whole lines only go out, so the listener's
            // own log lines (and another drain of the same app) never land inside a worker's line.
            var pending: [UInt8] = []
            defer { close(readEnd) }
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, chunkBytes) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: buffer[0..<count])
                // A line longer than a chunk goes out cut rather than held without bound.
                let cut =
                    pending.lastIndex(of: 0x0A).map { $0 + 1 } ?? (pending.count >= chunkBytes ? pending.count : 0)
                guard cut > 0 else { continue }
                emit(pending[0..<cut], log: log)
                pending.removeFirst(cut)
            }
            if !pending.isEmpty { emit(pending[...], log: log) }
        }
        thread.start()
        return ends[1]
    }

    private static func emit(_ bytes: ArraySlice<UInt8>, log: WorkerLogFile) {
        bytes.withUnsafeBytes { chunk in
            log.append(chunk)
            passOn(chunk)
        }
    }

    private static func passOn(_ chunk: UnsafeRawBufferPointer) {
        guard let base = chunk.baseAddress else { return }
        var written = 0
        while written < chunk.count {
            let result = write(STDERR_FILENO, base + written, chunk.count - written)
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return }
            written += result
        }
    }
}
