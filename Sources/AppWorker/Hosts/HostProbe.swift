import AsyncHTTPClient
import NIOCore
import NIOPosix
import Shared

/// One health check of a host's node service: `http` is up on a 2xx answer, `tcp` on an
/// accepted connection. Anything slower than `timeout` counts as a failure, as HAProxy's
/// `timeout check` does.
struct HostProbe: Sendable {
    let target: Probe.Target
    let timeout: Duration
    let http: HTTPClient

    func check() async -> ProbeOutcome {
        switch target {
        case .http(let url):
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                let response = try await http.execute(request, timeout: .milliseconds(timeout.milliseconds))
                // Drain a little so the connection can be reused; the body says nothing we need.
                _ = try? await response.body.collect(upTo: 64 * 1024)
                let code = Int(response.status.code)
                return (200..<300).contains(code)
                    ? .success("GET \(url): \(code)")
                    : .failure("GET \(url): \(code)")
            } catch {
                return .failure("GET \(url): \(Self.describe(error))")
            }
        case .tcp(let host, let port):
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.milliseconds(timeout.milliseconds))
                    .connect(host: host, port: port)
                    .get()
                try? await channel.close()
                return .success("connect \(host):\(port): ok")
            } catch {
                return .failure("connect \(host):\(port): \(Self.describe(error))")
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .connectTimeout {
            return "no answer in time"
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return "no answer in time" }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.first.map { describe($0.error) } ?? "\(error)"
        }
        // NIO's own words ("connection reset (error set): Connection refused (errno: 111)") say one
        // thing three times; an operator reads the errno as the rest of the scheduler words it.
        if let error = error as? IOError {
            return SocketFailure(errno: error.errnoCode, peer: "", operation: "connect").reason
        }
        return "\(error)"
    }
}
