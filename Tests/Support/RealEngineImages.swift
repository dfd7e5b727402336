import Foundation
import Shared

/// What the real-engine suites share: two variant images with different pages, port ranges for
/// host networking, and reading an executor's page over HTTP.
public enum RealEngineImages {
    /// Variant name to (image tag, the page its containers serve).
    public static let variants: [(name: String, image: String, page: String)] = [
        ("alpha", "mimic-test/shop:alpha", "shop alpha\n"),
        ("beta", "mimic-test/shop:beta", "shop beta\n"),
    ]

    public static func page(of variant: String) -> String? {
        variants.first { $0.name == variant }?.page
    }

    /// Imports every variant's image into `engine`.
    public static func importAll(into engine: DockerEngine) throws {
        for variant in variants { try engine.importImage(variant.image, page: variant.page) }
    }

    /// `count` consecutive loopback ports that nothing listens on now, below the kernel's
    /// ephemeral range (32768 up here): the tests make hundreds of short client connections
    /// (redis-cli, HTTP), and a server port that is some connection's local port cannot be bound,
    /// so a range taken from the ephemeral ports failed now and then. `avoiding`: ranges handed
    /// out before (nothing listens on them yet, so only this tells).
    public static func freePortRange(count: Int, avoiding: [ClosedRange<Int>] = []) throws -> ClosedRange<Int> {
        for _ in 0..<100 {
            let first = Int.random(in: 20000...(32767 - count))
            let range = first...(first + count - 1)
            if avoiding.contains(where: { $0.overlaps(range) }) { continue }
            if !range.contains(where: { PosixSocket.accepts(PosixSocket.loopback(port: $0)) }) { return range }
        }
        throw TestSupportError("no \(count) free consecutive loopback ports found in 20000-32767")
    }

    /// The body of `GET http://<endpoint>/`, nil when nothing answers 200.
    public static func fetch(_ endpoint: String) -> String? {
        guard let response = try? BlockingHTTPClient(timeout: 2).request("GET", "http://\(endpoint)/"),
            response.status == 200
        else { return nil }
        return String(decoding: response.body, as: UTF8.self)
    }
}
