import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

@testable import AppWorker

struct HostProbeTests {
    /// The reason an operator reads on the page and in the driver's readiness error.
    @Test func aRefusedConnectionSaysSoOnce() async throws {
        let port = try FreePort.take()
        let outcome = await HostProbe(target: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(2), http: .shared)
            .check()
        #expect(outcome == .failure("connect 127.0.0.1:\(port): connection refused"))
    }
}
