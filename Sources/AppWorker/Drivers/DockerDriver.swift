import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Shared

/// Drives one host's Docker Engine over its HTTP API (v1.41, `tcp://` or `unix://`). An executor
/// is one container named `mimic-{app}-{executor}`, labelled `mimic.app`, `mimic.executor` and
/// `mimic.variant`, created from its variant's image. With `docker_network: bridge` (the default)
/// the variant's ports are published to ports the engine picks and the first one, on the host's
/// address, is the endpoint; with `docker_network: host` the container shares the host's network
/// and listens on a port of the host's `ports` range that the driver hands out (label `mimic.port`).
struct DockerDriver: Driver {
    let app: String
    let host: HostConfig
    let variants: [String: Variant]
    let http: HTTPClient
    /// Host networking only: which executor holds which port of `host.ports`.
    let portBook: HostPortBook?

    init(app: String, host: HostConfig, variants: [String: Variant], http: HTTPClient) {
        self.app = app
        self.host = host
        self.variants = variants
        self.http = http
        portBook = host.dockerNetwork == .host ? host.ports.map(HostPortBook.init) : nil
    }

    static let apiVersion = "v1.41"
    /// Seconds a container gets to stop before it is killed on remove.
    static let stopGraceSeconds = 5

    /// A create is up to five API calls (create, remove and create again on a name conflict,
    /// start, inspect), each bounded by `docker_timeout`, then the wait for the endpoint.
    var actionTimeout: Duration { host.dockerTimeout * 5 + host.readyTimeout }

    func create(_ target: DriverTarget) async throws -> String {
        guard let variant = variants[target.variant], let image = variant.image else {
            throw DriverError(
                "docker on host \(host.name): variant '\(target.variant)' of \(target.executor) has no "
                    + "image in the config of app \(app)")
        }
        let name = containerName(target.executor)
        guard let portBook else {
            let body = try JSONSerialization.data(
                withJSONObject: createBody(target, variant: variant, image: image, port: variant.ports.first))
            try await createAndStart(target, name: name, image: image, body: body)
            let published = try await publishedPort(of: name, executor: target.executor, port: variant.ports.first)
            try await awaitAnswer(target, name: name, port: published, listening: "its first variants[].ports")
            return "\(host.address):\(published)"
        }
        let port = try await reservePort(target.executor, book: portBook)
        do {
            let body = try JSONSerialization.data(
                withJSONObject: createBody(target, variant: variant, image: image, port: port))
            try await createAndStart(target, name: name, image: image, body: body)
            try await awaitAnswer(target, name: name, port: port, listening: "$PORT (\(port))")
        } catch {
            // Nothing listens there now; a retry reserves again.
            await portBook.release(target.executor)
            throw error
        }
        return "\(host.address):\(port)"
    }

    private func createAndStart(_ target: DriverTarget, name: String, image: String, body: Data) async throws {
        var reply = try await call(
            .POST, "/containers/create", query: [("name", name)], body: body,
            what: "create of \(target.executor) from \(image)")
        if reply.status == 409 {
            // A container of that name is left from an earlier attempt (or a worker that died
            // mid-create): it is not known to be clean, so it is replaced.
            try await removeContainer(name, executor: target.executor)
            reply = try await call(
                .POST, "/containers/create", query: [("name", name)], body: body,
                what: "create of \(target.executor) from \(image)")
        }
        switch reply.status {
        case 201: break
        case 404:
            // The engine's own words ("No such image: …") add nothing to this.
            throw DriverError(
                "docker on host \(host.name): create of \(target.executor): image \(image) is not on the host; "
                    + "pull it there (docker pull \(image)) or fix variants.image")
        default: throw failure(reply, "create of \(target.executor) from \(image)")
        }
        let start = try await call(.POST, "/containers/\(name)/start", what: "start of \(target.executor)")
        guard start.status == 204 || start.status == 304 else {
            throw failure(start, "start of \(target.executor)")
        }
    }

    /// Restoring from the clean image is a new container from the same image (on the same port
    /// with host networking, so the brackets keep the endpoint).
    func clean(_ target: DriverTarget) async throws -> String? {
        if let portBook, let port = try await labelledPort(of: target.executor) {
            await portBook.hold(port, for: target.executor)
        }
        try await removeContainer(containerName(target.executor), executor: target.executor)
        return try await create(target)
    }

    func remove(_ target: DriverTarget) async throws {
        try await removeContainer(containerName(target.executor), executor: target.executor)
        // `list` finds executors by label, so an orphan it reported may carry another name (made
        // by hand, or by another tool): what has the executor's labels goes too.
        let filters = #"{"label":["mimic.app=\#(app)","mimic.executor=\#(target.executor)"]}"#
        let reply = try await call(
            .GET, "/containers/json", query: [("all", "true"), ("filters", filters)],
            what: "remove of \(target.executor): list by label")
        guard reply.status == 200 else { throw failure(reply, "remove of \(target.executor): list by label") }
        let containers = (try? JSONSerialization.jsonObject(with: reply.body) as? [[String: Any]]) ?? []
        for id in containers.compactMap({ $0["Id"] as? String }) {
            try await removeContainer(id, executor: target.executor)
        }
        await portBook?.release(target.executor)
    }

    func list() async throws -> [String] { try await listWithStopped().ids }

    /// Every container with this app's label, stopped ones included (they exist: an unrecorded one
    /// is removed); those not running are reported apart.
    func listWithStopped() async throws -> (ids: [String], stopped: Set<String>) {
        let filters = #"{"label":["mimic.app=\#(app)"]}"#
        let reply = try await call(
            .GET, "/containers/json", query: [("all", "true"), ("filters", filters)],
            what: "list of app \(app)")
        guard reply.status == 200 else { throw failure(reply, "list of app \(app)") }
        guard let containers = try? JSONSerialization.jsonObject(with: reply.body) as? [[String: Any]] else {
            throw DriverError(
                "docker on host \(host.name): list of app \(app) answered something that is not a "
                    + "JSON array of containers")
        }
        var ids: [String] = []
        var stopped: Set<String> = []
        for container in containers {
            let labels = container["Labels"] as? [String: String] ?? [:]
            guard let id = labels["mimic.executor"], ExecutorID.isValid(id) else {
                let name = (container["Names"] as? [String])?.first ?? (container["Id"] as? String ?? "?")
                throw DriverError(
                    "docker on host \(host.name): container \(name) has label mimic.app=\(app) but no "
                        + "valid mimic.executor label; remove it or fix its labels")
            }
            ids.append(id)
            if (container["State"] as? String) != "running" { stopped.insert(id) }
            // A worker that restarted learns which ports its executors hold from their labels.
            if let portBook, let port = labels["mimic.port"].flatMap(Int.init) {
                await portBook.hold(port, for: id)
            }
        }
        return (ids, stopped)
    }

    /// A port of the host's range for `executor`: the one it holds already if no other container
    /// took it, else the lowest one that no container on the engine (of any app, as two apps'
    /// workers may share a host) is labelled with and no other executor of this worker holds.
    private func reservePort(_ executor: String, book: HostPortBook) async throws -> Int {
        let filters = #"{"label":["mimic.port"]}"#
        let reply = try await call(
            .GET, "/containers/json", query: [("all", "true"), ("filters", filters)],
            what: "create of \(executor): list of the ports in use")
        guard reply.status == 200 else { throw failure(reply, "create of \(executor): list of the ports in use") }
        let containers = (try? JSONSerialization.jsonObject(with: reply.body) as? [[String: Any]]) ?? []
        let ownName = "/" + containerName(executor)
        var inUse: Set<Int> = []
        for container in containers where !((container["Names"] as? [String]) ?? []).contains(ownName) {
            if let port = ((container["Labels"] as? [String: String])?["mimic.port"]).flatMap(Int.init) {
                inUse.insert(port)
            }
        }
        guard let port = await book.reserve(for: executor, avoiding: inUse) else {
            throw DriverError(
                "docker on host \(host.name): create of \(executor): no free port left in the host's ports "
                    + "\(book.range.lowerBound)-\(book.range.upperBound) (each executor of every app on the "
                    + "host holds one); widen hosts[].ports or lower replicas")
        }
        return port
    }

    /// The container as the engine describes it (`inspect.json`), what changed in its filesystem
    /// against its image (`changes.json`), its processes (`top.json`), its output (`logs.txt`) and,
    /// asked for, its whole filesystem (`export.tar`). Only a container that is gone fails the
    /// whole capture; any other part that fails is named and the rest is kept.
    func inspect(_ target: DriverTarget, into directory: String, export: Bool) async throws -> [String] {
        let name = containerName(target.executor)
        let executor = target.executor
        let described = try await call(.GET, "/containers/\(name)/json", what: "inspect of \(executor)")
        switch described.status {
        case 200: try write(described.body, to: directory, "inspect.json")
        case 404:
            throw DriverError(
                "docker on host \(host.name): container \(name) of \(executor) is gone; there is nothing to capture")
        default: throw failure(described, "inspect of \(executor)")
        }
        var problems: [String] = []
        for (part, file) in [("changes", "changes.json"), ("top", "top.json")] {
            do {
                let reply = try await call(.GET, "/containers/\(name)/\(part)", what: "\(part) of \(executor)")
                guard reply.status == 200 else {
                    // The engine refuses `top` for a stopped container (409): that is worth saying too.
                    problems.append(failure(reply, "\(part) of \(executor)").description)
                    continue
                }
                try write(reply.body, to: directory, file)
            } catch {
                problems.append("\(error)")
            }
        }
        var parts = [("logs", "logs.txt", [("stdout", "true"), ("stderr", "true"), ("timestamps", "true")])]
        if export { parts.append(("export", "export.tar", [])) }
        for (part, file, query) in parts {
            let demuxer = part == "logs" ? LogStreamDemuxer() : nil
            do {
                let path = (directory as NSString).appendingPathComponent(file)
                try await download(
                    "/containers/\(name)/\(part)", query: query, to: path, timeout: host.dockerTimeout * 5,
                    what: "\(part) of \(executor)", demuxer: demuxer)
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }

    private func write(_ data: Data, to directory: String, _ file: String) throws {
        let path = (directory as NSString).appendingPathComponent(file)
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw DriverError("docker on host \(host.name): cannot write \(path)")
        }
    }

    /// The port an executor's container is labelled with, nil when it has none or is gone.
    private func labelledPort(of executor: String) async throws -> Int? {
        let reply = try await call(
            .GET, "/containers/\(containerName(executor))/json", what: "inspect of \(executor)")
        guard reply.status == 200 else { return nil }
        let inspected = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]
        let labels = (inspected?["Config"] as? [String: Any])?["Labels"] as? [String: String]
        return labels?["mimic.port"].flatMap(Int.init)
    }

    func containerName(_ executor: String) -> String { "mimic-\(app)-\(executor)" }

    /// `port`: the port the executor listens on inside its container (the variant's first port
    /// with bridge networking, the reserved host port with host networking); `{port}` in the
    /// variant's command becomes it.
    func createBody(_ target: DriverTarget, variant: Variant, image: String, port: Int?) -> [String: Any] {
        var environment = host.env.merging(variant.env) { _, variant in variant }
        // Who the container is, for its own logs and pages (the demo's stand-in executor reads them).
        environment["MIMIC_APP"] = app
        environment["MIMIC_EXECUTOR"] = target.executor
        environment["MIMIC_VARIANT"] = target.variant
        var labels = ["mimic.app": app, "mimic.executor": target.executor, "mimic.variant": target.variant]
        var body: [String: Any] = ["Image": image]
        if let command = variant.command {
            body["Cmd"] = command.map { $0.replacingOccurrences(of: "{port}", with: port.map(String.init) ?? "") }
        }
        if portBook != nil, let port {
            // The driver's port wins over any PORT in env: the endpoint is that port.
            environment["PORT"] = "\(port)"
            labels["mimic.port"] = "\(port)"
            body["HostConfig"] = ["NetworkMode": "host"]
        } else {
            var exposed: [String: Any] = [:]
            var bindings: [String: Any] = [:]
            for port in variant.ports {
                exposed["\(port)/tcp"] = [String: Any]()
                // An empty HostPort lets the engine pick a free one; inspect tells which.
                bindings["\(port)/tcp"] = [["HostIp": "", "HostPort": ""]]
            }
            body["ExposedPorts"] = exposed
            body["HostConfig"] = ["PortBindings": bindings]
        }
        body["Labels"] = labels
        body["Env"] = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return body
    }

    /// Stops (gracefully, then by force) and deletes the container; one already gone is fine.
    private func removeContainer(_ name: String, executor: String) async throws {
        let stop = try await call(
            .POST, "/containers/\(name)/stop", query: [("t", "\(Self.stopGraceSeconds)")],
            what: "stop of \(executor)")
        guard [204, 304, 404].contains(stop.status) else { throw failure(stop, "stop of \(executor)") }
        let delete = try await call(
            .DELETE, "/containers/\(name)", query: [("force", "true"), ("v", "true")],
            what: "remove of \(executor)")
        guard delete.status == 204 || delete.status == 404 else { throw failure(delete, "remove of \(executor)") }
    }

    private func publishedPort(of name: String, executor: String, port: Int?) async throws -> Int {
        guard let port else {
            throw DriverError(
                "docker on host \(host.name): variant of \(executor) publishes no port; add variants.ports")
        }
        let reply = try await call(.GET, "/containers/\(name)/json", what: "inspect of \(executor)")
        guard reply.status == 200 else { throw failure(reply, "inspect of \(executor)") }
        let inspected = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]
        let ports = (inspected?["NetworkSettings"] as? [String: Any])?["Ports"] as? [String: Any]
        guard let bindings = ports?["\(port)/tcp"] as? [[String: Any]],
            let published = bindings.compactMap({ ($0["HostPort"] as? String).flatMap(Int.init) }).first
        else {
            throw DriverError(
                "docker on host \(host.name): container of \(executor) publishes no host port for "
                    + "\(port)/tcp; is the port free on the host?")
        }
        return published
    }

    /// A started container is not yet a server: the brackets would route to an endpoint that
    /// refuses, and the scheduler would count that against a clean executor. So a create returns
    /// once the endpoint accepts a TCP connection, and fails (removing the container) if it does
    /// not within `ready_timeout`, or as soon as the container stops.
    private func awaitAnswer(_ target: DriverTarget, name: String, port: Int, listening: String) async throws {
        guard host.readyTimeout > .zero else { return }
        let deadline = ContinuousClock.now + host.readyTimeout
        var tries = 0
        var last = "not tried"
        var stopped: String?
        while true {
            let left = deadline - ContinuousClock.now
            let probe = HostProbe(
                target: .tcp(host: host.address, port: port), timeout: max(min(left, .seconds(1)), .milliseconds(50)),
                http: http)
            switch await probe.check() {
            case .success: return
            case .failure(let why): last = why
            }
            tries += 1
            // About once a second: a container that exited will never answer.
            if tries % 10 == 0, let state = try? await containerState(name), !state.running {
                stopped = state.text
                break
            }
            guard ContinuousClock.now + .milliseconds(100) < deadline else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if stopped == nil, let state = try? await containerState(name), !state.running { stopped = state.text }
        try? await removeContainer(name, executor: target.executor)
        let why =
            stopped.map { "the container \($0) before it answered" }
            ?? "\(host.address):\(port) accepted no connection within \(DurationText.format(host.readyTimeout)) "
            + "(hosts[].ready_timeout; last try: \(last))"
        throw DriverError(
            "docker on host \(host.name): \(target.executor) started but \(why); the container was removed. "
                + "Check that variant \(target.variant)'s image listens on \(listening), or raise ready_timeout")
    }

    /// `State` of the container: whether it runs, and how it ended if not.
    private func containerState(_ name: String) async throws -> (running: Bool, text: String) {
        let reply = try await call(.GET, "/containers/\(name)/json", what: "inspect of \(name)")
        guard reply.status == 200,
            let state = (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["State"]
                as? [String: Any]
        else { return (true, "unknown") }
        let running = state["Running"] as? Bool ?? true
        let status = state["Status"] as? String ?? "unknown"
        let code = (state["ExitCode"] as? NSNumber).map { " (exit code \($0))" } ?? ""
        return (running, running ? status : status + code)
    }

    // MARK: - HTTP

    struct Reply {
        var status: Int
        var body: Data
    }

    private func call(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        what: String
    ) async throws -> Reply {
        var request = try makeRequest(method, path, query: query)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: .milliseconds(host.dockerTimeout.milliseconds))
            let data = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return Reply(status: Int(response.status.code), body: Data(data.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw DriverError(
                "docker on host \(host.name): \(what) got no answer from \(host.docker ?? "") within "
                    + "\(DurationText.format(host.dockerTimeout)) (docker_timeout)")
        } catch {
            throw DriverError("docker on host \(host.name): \(what) could not reach \(host.docker ?? ""): \(error)")
        }
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String, query: [(String, String)]) throws
        -> HTTPClientRequest
    {
        guard let url = url(path, query: query) else {
            throw DriverError("docker on host \(host.name): cannot build a URL from \(host.docker ?? "nothing")")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        if host.docker?.hasPrefix("unix://") == true {
            // Over a unix socket AsyncHTTPClient sends an empty Host, and the Engine (Go's HTTP
            // server) answers every request "400 missing required Host header"; the docker CLI
            // names a placeholder host too.
            request.headers.replaceOrAdd(name: "Host", value: "docker")
        }
        return request
    }

    /// A GET whose answer goes to `file` as it arrives: logs and exports may be far larger than
    /// what `call` holds in memory. `demuxer` (for logs) sees each chunk in order.
    private func download(
        _ path: String, query: [(String, String)] = [], to file: String, timeout: Duration, what: String,
        demuxer: LogStreamDemuxer? = nil
    ) async throws {
        let request = try makeRequest(.GET, path, query: query)
        do {
            let response = try await http.execute(request, timeout: .milliseconds(timeout.milliseconds))
            guard response.status == .ok else {
                let data = try await response.body.collect(upTo: 64 * 1024)
                throw failure(Reply(status: Int(response.status.code), body: Data(data.readableBytesView)), what)
            }
            guard FileManager.default.createFile(atPath: file, contents: nil),
                let handle = FileHandle(forWritingAtPath: file)
            else { throw DriverError("docker on host \(host.name): \(what): cannot create \(file)") }
            defer { try? handle.close() }
            for try await chunk in response.body {
                let bytes = Array(chunk.readableBytesView)
                try handle.write(contentsOf: demuxer?.feed(bytes) ?? bytes)
            }
            if let rest = demuxer?.finish(), !rest.isEmpty { try handle.write(contentsOf: rest) }
        } catch let error as DriverError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw DriverError(
                "docker on host \(host.name): \(what) got no answer from \(host.docker ?? "") within "
                    + "\(DurationText.format(timeout))")
        } catch {
            throw DriverError("docker on host \(host.name): \(what) failed: \(error)")
        }
    }

    func url(_ path: String, query: [(String, String)]) -> String? {
        var uri = "/\(Self.apiVersion)\(path)"
        if !query.isEmpty {
            uri += "?" + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        guard let endpoint = host.docker else { return nil }
        if endpoint.hasPrefix("unix://") {
            return URL(httpURLWithSocketPath: String(endpoint.dropFirst("unix://".count)), uri: uri)?.absoluteString
        }
        return "http://\(endpoint.dropFirst("tcp://".count))\(uri)"
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private func failure(_ reply: Reply, _ what: String) -> DriverError {
        // The engine explains errors as {"message": "..."}.
        let message =
            (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["message"] as? String
            ?? String(decoding: reply.body.prefix(200), as: UTF8.self)
        return DriverError("docker on host \(host.name): \(what) failed with HTTP \(reply.status): \(message)")
    }
}

/// The ports of one host's `ports` range held by this worker's executors (host networking).
/// Reservations are in memory; the engine's `mimic.port` labels are the record that outlives the
/// worker, read back on every create and list.
actor HostPortBook {
    nonisolated let range: ClosedRange<Int>
    private var held: [String: Int] = [:]

    init(_ range: ClosedRange<Int>) { self.range = range }

    /// The executor's own port if it has one no container took meanwhile, else the lowest free one.
    func reserve(for executor: String, avoiding inUse: Set<Int>) -> Int? {
        if let port = held[executor], !inUse.contains(port) { return port }
        let taken = inUse.union(held.filter { $0.key != executor }.values)
        guard let port = range.first(where: { !taken.contains($0) }) else { return nil }
        held[executor] = port
        return port
    }

    func hold(_ port: Int, for executor: String) {
        guard range.contains(port) else { return }
        held[executor] = port
    }

    func release(_ executor: String) { held[executor] = nil }
}

/// `GET /containers/{id}/logs` of a container without a TTY interleaves stdout and stderr in
/// frames of an 8-byte header (stream, 0, 0, 0, big-endian length) and the payload; the payloads
/// are the log. A stream that does not start with such a header (a TTY container's) is kept as is.
final class LogStreamDemuxer: @unchecked Sendable {
    private enum Mode {
        case undecided
        case framed
        case raw
    }
    private var mode = Mode.undecided
    private var header: [UInt8] = []
    private var remaining = 0

    /// Called from one task only (the download's loop).
    func feed(_ bytes: [UInt8]) -> [UInt8] {
        if mode == .raw { return bytes }
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if remaining > 0 {
                let count = min(remaining, bytes.count - index)
                out += bytes[index..<(index + count)]
                index += count
                remaining -= count
                continue
            }
            header.append(bytes[index])
            index += 1
            guard header.count == 8 else { continue }
            if mode == .undecided {
                guard header[0] <= 2, header[1] == 0, header[2] == 0, header[3] == 0 else {
                    mode = .raw
                    out += header + bytes[index...]
                    header = []
                    return out
                }
                mode = .framed
            }
            remaining = header[4...].reduce(0) { $0 << 8 | Int($1) }
            header = []
        }
        return out
    }

    /// What is held back at the end: a stream shorter than one header is raw output.
    func finish() -> [UInt8] {
        defer { header = [] }
        return mode == .undecided ? header : []
    }
}
