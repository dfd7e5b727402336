import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A stand-in for the Docker Engine API (v1.41) for the docker driver's tests of what a real
/// engine (Tests/Support/DockerEngine.swift) cannot be made to show on demand. It answers only the documented endpoints the driver uses, with the documented status
/// codes and bodies (https://docs.docker.com/engine/api/v1.41/): POST /containers/create,
/// POST /containers/{id}/start and /stop, DELETE /containers/{id}, GET /containers/json,
/// GET /containers/{id}/json and GET /_ping. Faults (an error status, or no answer at all) can be
/// injected per method and path.
final class DockerEngineStandIn: @unchecked Sendable {
    struct Container {
        var id: String
        var name: String
        var image: String
        var labels: [String: String]
        var env: [String]
        var exposed: [String]
        var running = false
        var published: [String: Int] = [:]
    }

    enum Fault {
        case status(Int, String)
        case hang
    }

    private let lock = NSLock()
    private var containers: [String: Container] = [:]
    private var images: Set<String>
    private var faults: [(method: String, path: String, fault: Fault, remaining: Int)] = []
    private var log: [String] = []
    private var nextPort = 32768
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channels: [any Channel] = []
    private(set) var port = 0

    init(images: Set<String>, unixSocket: String? = nil) throws {
        self.images = images
        let tcp = try bootstrap().bind(host: "127.0.0.1", port: 0).wait()
        port = tcp.localAddress?.port ?? 0
        channels.append(tcp)
        if let unixSocket {
            channels.append(
                try bootstrap().bind(unixDomainSocketPath: unixSocket, cleanupExistingSocketFile: true).wait())
        }
    }

    func shutdown() {
        for channel in channels { try? channel.close().wait() }
        try? group.syncShutdownGracefully()
    }

    /// The next `times` requests whose method matches and whose path contains `path` get `fault`.
    func inject(_ method: String, _ path: String, _ fault: Fault, times: Int = 1) {
        lock.withLock { faults.append((method, path, fault, times)) }
    }

    var requests: [String] { lock.withLock { log } }
    var all: [Container] { lock.withLock { Array(containers.values) } }

    func container(named name: String) -> Container? {
        lock.withLock { containers.values.first { $0.name == name } }
    }

    /// A container made behind the driver's back (another tool, an earlier worker).
    func add(name: String, image: String, labels: [String: String], running: Bool = true) {
        lock.withLock {
            let id = Self.newID()
            containers[id] = Container(
                id: id, name: name, image: image, labels: labels, env: [], exposed: [],
                running: running)
        }
    }

    /// A container that disappears behind the driver's back (crashed and removed, `docker rm -f`).
    func delete(named name: String) {
        lock.withLock { containers = containers.filter { $0.value.name != name } }
    }

    private func bootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(StandInHandler(engine: self))
                }
            }
    }

    static func newID() -> String {
        (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
    }

    // MARK: - The API

    /// Returns nil to leave the request unanswered (an injected hang).
    fileprivate func answer(method: String, uri: String, body: Data) -> (Int, String?)? {
        let (path, query) = Self.split(uri)
        return lock.withLock { () -> (Int, String?)? in
            log.append("\(method) \(uri)")
            if let index = faults.firstIndex(where: {
                $0.method == method && path.contains($0.path) && $0.remaining > 0
            }) {
                faults[index].remaining -= 1
                switch faults[index].fault {
                case .hang: return nil
                case .status(let code, let message): return (code, Self.message(message))
                }
            }
            return route(method: method, path: path, query: query, body: body)
        }
    }

    private func route(method: String, path: String, query: [String: String], body: Data) -> (Int, String?) {
        if method == "GET", path == "/_ping" || path == "/v1.41/_ping" { return (200, "OK") }
        guard path.hasPrefix("/v1.41/") else { return (404, Self.message("page not found")) }
        let parts = path.dropFirst("/v1.41/".count).split(separator: "/").map(String.init)
        switch (method, parts.count, parts.first) {
        case ("POST", 2, "containers") where parts[1] == "create":
            return create(name: query["name"] ?? "", body: body)
        case ("GET", 2, "containers") where parts[1] == "json":
            return list(all: query["all"] == "true" || query["all"] == "1", filters: query["filters"])
        case ("POST", 3, "containers") where parts[2] == "start":
            return withContainer(parts[1]) { container in
                if container.running { return (304, nil) }
                container.running = true
                for port in container.exposed {
                    container.published[port] = nextPort
                    nextPort += 1
                }
                return (204, nil)
            }
        case ("POST", 3, "containers") where parts[2] == "stop":
            return withContainer(parts[1]) { container in
                if !container.running { return (304, nil) }
                container.running = false
                container.published = [:]
                return (204, nil)
            }
        case ("GET", 3, "containers") where parts[2] == "json":
            return withContainer(parts[1]) { container in (200, Self.json(inspect(container))) }
        case ("DELETE", 2, "containers"):
            guard let id = resolve(parts[1]) else { return (404, Self.message("No such container: \(parts[1])")) }
            if containers[id]!.running, query["force"] != "true", query["force"] != "1" {
                return (
                    409,
                    Self.message(
                        "You cannot remove a running container \(id). Stop the container before "
                            + "attempting removal or force remove")
                )
            }
            containers[id] = nil
            return (204, nil)
        default:
            return (404, Self.message("page not found"))
        }
    }

    private func create(name: String, body: Data) -> (Int, String?) {
        guard let spec = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let image = spec["Image"] as? String
        else {
            return (400, Self.message("config cannot be empty in order to create a container"))
        }
        if let existing = containers.values.first(where: { $0.name == name }) {
            return (
                409,
                Self.message(
                    "Conflict. The container name \"/\(name)\" is already in use by container "
                        + "\"\(existing.id)\". You have to remove (or rename) that container to be able to reuse that name."
                )
            )
        }
        guard images.contains(image) else { return (404, Self.message("No such image: \(image)")) }
        let id = Self.newID()
        containers[id] = Container(
            id: id, name: name.isEmpty ? "c\(id.prefix(8))" : name, image: image,
            labels: spec["Labels"] as? [String: String] ?? [:], env: spec["Env"] as? [String] ?? [],
            exposed: (spec["ExposedPorts"] as? [String: Any] ?? [:]).keys.sorted())
        return (201, Self.json(["Id": id, "Warnings": [String]()]))
    }

    private func list(all: Bool, filters: String?) -> (Int, String?) {
        var wanted: [String] = []
        if let filters {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(filters.utf8)) as? [String: [String]] else {
                return (400, Self.message("invalid filter '\(filters)'"))
            }
            wanted = parsed["label"] ?? []
        }
        let matching = containers.values.filter { container in
            (all || container.running)
                && wanted.allSatisfy { filter in
                    let pair = filter.split(separator: "=", maxSplits: 1).map(String.init)
                    return pair.count == 2 ? container.labels[pair[0]] == pair[1] : container.labels[pair[0]] != nil
                }
        }
        return (
            200,
            Self.json(
                matching.sorted { $0.name < $1.name }.map { container -> [String: Any] in
                    [
                        "Id": container.id, "Names": ["/\(container.name)"], "Image": container.image,
                        "Labels": container.labels, "State": container.running ? "running" : "exited",
                    ]
                })
        )
    }

    private func inspect(_ container: Container) -> [String: Any] {
        var ports: [String: Any] = [:]
        for port in container.exposed {
            if let host = container.published[port] {
                ports[port] = [["HostIp": "0.0.0.0", "HostPort": "\(host)"]]
            } else {
                ports[port] = NSNull()
            }
        }
        return [
            "Id": container.id, "Name": "/\(container.name)",
            "Config": ["Image": container.image, "Labels": container.labels, "Env": container.env],
            "State": ["Running": container.running, "Status": container.running ? "running" : "exited"],
            "NetworkSettings": ["Ports": ports],
        ]
    }

    private func withContainer(_ reference: String, _ body: (inout Container) -> (Int, String?)) -> (Int, String?) {
        guard let id = resolve(reference) else { return (404, Self.message("No such container: \(reference)")) }
        return body(&containers[id]!)
    }

    /// Like the engine: a full id, a unique id prefix, or a name.
    private func resolve(_ reference: String) -> String? {
        if containers[reference] != nil { return reference }
        if let byName = containers.values.first(where: { $0.name == reference }) { return byName.id }
        let prefixed = containers.keys.filter { $0.hasPrefix(reference) }
        return prefixed.count == 1 ? prefixed[0] : nil
    }

    private static func split(_ uri: String) -> (String, [String: String]) {
        guard let components = URLComponents(string: uri) else { return (uri, [:]) }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        return (components.percentEncodedPath.removingPercentEncoding ?? components.percentEncodedPath, query)
    }

    private static func message(_ text: String) -> String { json(["message": text]) }

    private static func json(_ object: Any) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(),
            as: UTF8.self)
    }
}

private final class StandInHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let engine: DockerEngineStandIn
    private var head: HTTPRequestHead?
    private var body = Data()

    init(engine: DockerEngineStandIn) {
        self.engine = engine
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = Data()
        case .body(var buffer):
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            guard let head else { return }
            guard let (status, text) = engine.answer(method: head.method.rawValue, uri: head.uri, body: body) else {
                return
            }
            var headers = HTTPHeaders()
            headers.add(name: "Api-Version", value: "1.41")
            headers.add(name: "Content-Type", value: text == "OK" ? "text/plain; charset=utf-8" : "application/json")
            headers.add(name: "Content-Length", value: "\(text?.utf8.count ?? 0)")
            let response = HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: status),
                headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            if let text { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
