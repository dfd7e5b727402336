import Foundation
import Shared

/// The same-run anchors of issue 7, measured on this machine next to the system under test.
enum Baseline {
    /// The physical limit of a one-hop router here: the same NDJSON bytes written in 64 KiB batches
    /// into a Unix socket, a relay thread that forwards complete lines (batched, one write per read)
    /// into a second Unix socket, and a sink that counts lines. Returns messages per second.
    static func relayRate(stream: EncodedStream, directory: String) throws -> Double {
        let inbound = try UnixListener(path: directory + "/relay-in.sock")
        let outbound = try UnixListener(path: directory + "/relay-out.sock")
        let total = stream.count
        let relay = JoinableThread("bench-relay") {
            guard let from = try? inbound.accept(), let to = try? LineSocket(unixPath: outbound.path) else { return }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { buffer.deallocate() }
            var carried = 0
            while true {
                guard
                    let count = try? from.readAvailable(
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[carried...])),
                    count > 0
                else { break }
                let filled = carried + count
                // Forward up to the last complete line, like a router that frames messages.
                var last = filled - 1
                while last >= 0, buffer[last] != 0x0A { last -= 1 }
                if last >= 0 {
                    try? to.write(UnsafeRawBufferPointer(rebasing: buffer[0...last]))
                    let rest = filled - last - 1
                    if rest > 0 {
                        buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + last + 1, byteCount: rest)
                    }
                    carried = rest
                } else {
                    carried = filled
                }
            }
            to.shutdownWrite()
        }
        let counted = Locked<UInt64>(0)
        let sink = JoinableThread("bench-relay-sink") {
            guard let socket = try? outbound.accept() else { return }
            var lines = 0
            socket.forEachLine { _ in
                lines += 1
                return lines < total
            }
            counted.withLock { $0 = monotonicNanos() }
        }
        let sender = try LineSocket(unixPath: inbound.path)
        let started = monotonicNanos()
        try stream.bytes.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let upper = min(offset + (1 << 16), bytes.count)
                try sender.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<upper]))
                offset = upper
            }
        }
        sender.shutdownWrite()
        sink.join()
        relay.join()
        let finished = counted.current
        guard finished > started else { throw BenchFailure("relay baseline did not finish") }
        return Double(total) / (Double(finished - started) / 1e9)
    }

    /// Redis's own pipelined write rate on this machine: redis-benchmark SET, pipeline 16, 50
    /// clients, against the bench's private server.
    static func redisPipelinedSetRate(port: Int, requests: Int = 300_000) throws -> Double {
        let output = try runRedisBenchmark(
            ["-p", String(port), "-t", "set", "-n", String(requests), "-P", "16", "-q", "--csv"])
        // --csv: "test","rps",...  e.g. "SET","543478.25",...
        for line in output.split(separator: "\n") where line.hasPrefix("\"SET\"") {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if fields.count > 1, let rate = Double(fields[1]) { return rate }
        }
        throw BenchFailure("redis-benchmark printed no SET rate: \(output.prefix(300))")
    }

    /// The rate of a durable-looking append here (issue 15's anchor): redis-benchmark XADD of a
    /// 200-byte field, pipeline 16, 50 clients, into one stream of the bench's private server,
    /// deleted afterwards.
    static func redisPipelinedXAddRate(port: Int, requests: Int = 300_000) throws -> Double {
        let key = "mimic-bench:xadd"
        let value = String(repeating: "x", count: 200)
        let output = try runRedisBenchmark(
            ["-p", String(port), "-n", String(requests), "-P", "16", "-q", "--csv", "XADD", key, "*", "f", value])
        defer { _ = try? runRedisCLI(port: port, ["DEL", key]) }
        // --csv with a command: the first field is the command line, the second the rate.
        for line in output.split(separator: "\n") where line.hasPrefix("\"XADD") {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if fields.count > 1, let rate = Double(fields[1]) { return rate }
        }
        throw BenchFailure("redis-benchmark printed no XADD rate: \(output.prefix(300))")
    }

    /// The floor under a journaled message with fsync=batch: 64-byte appends, each followed by
    /// fdatasync, to a file in `directory` (the journal's disk). Returns each one's latency in ns,
    /// and the CPU one costs in µs: on a VM the flush is a trip to the hypervisor, charged to the
    /// caller as system time.
    static func fdatasyncFloor(directory: String, samples: Int = 300) throws -> (
        latencies: [UInt64], cpuMicros: Double
    ) {
        let path = directory + "/fdatasync-floor.bin"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        guard fd >= 0 else { throw BenchFailure("cannot open \(path): errno \(errno)") }
        defer {
            close(fd)
            unlink(path)
        }
        let record = [UInt8](repeating: 0x61, count: 64)
        var out: [UInt64] = []
        out.reserveCapacity(samples)
        let startedCPU = threadCPUNanos()
        for _ in 0..<samples {
            let started = monotonicNanos()
            guard record.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == record.count, fdatasync(fd) == 0
            else { throw BenchFailure("write or fdatasync failed in \(directory): errno \(errno)") }
            out.append(monotonicNanos() - started)
        }
        return (out, Double(threadCPUNanos() - startedCPU) / Double(samples) / 1000)
    }

    private static func runRedisBenchmark(_ arguments: [String]) throws -> String {
        try run("/usr/bin/redis-benchmark", arguments)
    }

    private static func runRedisCLI(port: Int, _ arguments: [String]) throws -> String {
        try run("/usr/bin/redis-cli", ["-p", String(port)] + arguments)
    }

    private static func run(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return output
    }

    /// The floor under "trigger to publish": one PUBLISH from the bench to a subscriber of the same
    /// Redis, timed like the latency mode times a publication. Returns latencies in ns.
    static func redisPublishLatencies(port: Int, samples: Int = 500) throws -> [UInt64] {
        let channel = "mimic-bench:probe"
        let subscriber = try RespConnection(port: port)
        try subscriber.send(["SUBSCRIBE", channel])
        _ = try subscriber.read()
        let publisher = try RespConnection(port: port)
        var out: [UInt64] = []
        for index in 0..<samples {
            let sent = monotonicNanos()
            try publisher.send(["PUBLISH", channel, String(index)])
            _ = try subscriber.read()
            out.append(monotonicNanos() - sent)
            _ = try publisher.read()
            usleep(1000)
        }
        return out
    }
}
