import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Shared

/// Drives one host's Docker Engine over its HTTP API (v1.41, `tcp://` or `unix://`). An executor
/// is one container named `mimic-{app}-{executor}`, labelled `mimic.app`, `mimic.executor` and
/// `mimic.variant`, created from its variant's image with the variant's ports published to ports
/// the engine picks; the first one, on the host's address, is the endpoint.
struct DockerDriver: Driver {
    let app: String
    let host: HostConfig
    let variants: [String: Variant]
    let http: HTTPClient

    static let apiVersion = "v1.41"
    /// Seconds a container gets to stop before it is killed on remove.
    static let stopGraceSeconds = 5

    /// A create is up to five API calls (create, remove and create again on a name conflict,
    /// start, inspect), each bounded by `docker_timeout`.
    var actionTimeout: Duration { host.dockerTimeout * 5 }

    func create(_ target: DriverTarget) async throws -> String {
        guard let variant = variants[target.variant], let image = variant.image else {
            throw DriverError(
                "docker on host \(host.name): variant '\(target.variant)' of \(target.executor) has no "
                    + "image in the config of app \(app)")
        }
        let name = containerName(target.executor)
        let body = try JSONSerialization.data(withJSONObject: createBody(target, variant: variant, image: image))
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
            throw failure(
                reply,
                "create of \(target.executor): image \(image) is not on the host; "
                    + "pull it there (docker pull \(image)) or fix variants.image")
        default: throw failure(reply, "create of \(target.executor) from \(image)")
        }
        let start = try await call(.POST, "/containers/\(name)/start", what: "start of \(target.executor)")
        guard start.status == 204 || start.status == 304 else {
            throw failure(start, "start of \(target.executor)")
        }
        return try await endpoint(of: name, executor: target.executor, port: variant.ports.first)
    }

    /// Restoring from the clean image is a new container from the same image.
    func clean(_ target: DriverTarget) async throws -> String? {
        try await removeContainer(containerName(target.executor), executor: target.executor)
        return try await create(target)
    }

    func remove(_ target: DriverTarget) async throws {
        try await removeContainer(containerName(target.executor), executor: target.executor)
    }

    func list() async throws -> [String] {
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
        for container in containers {
            let labels = container["Labels"] as? [String: String] ?? [:]
            guard let id = labels["mimic.executor"], ExecutorID.isValid(id) else {
                let name = (container["Names"] as? [String])?.first ?? (container["Id"] as? String ?? "?")
                throw DriverError(
                    "docker on host \(host.name): container \(name) has label mimic.app=\(app) but no "
                        + "valid mimic.executor label; remove it or fix its labels")
            }
            ids.append(id)
        }
        return ids
    }

    func containerName(_ executor: String) -> String { "mimic-\(app)-\(executor)" }

    func createBody(_ target: DriverTarget, variant: Variant, image: String) -> [String: Any] {
        let environment = host.env.merging(variant.env) { _, variant in variant }
        var exposed: [String: Any] = [:]
        var bindings: [String: Any] = [:]
        for port in variant.ports {
            exposed["\(port)/tcp"] = [String: Any]()
            // An empty HostPort lets the engine pick a free one; inspect tells which.
            bindings["\(port)/tcp"] = [["HostIp": "", "HostPort": ""]]
        }
        return [
            "Image": image,
            "Labels": ["mimic.app": app, "mimic.executor": target.executor, "mimic.variant": target.variant],
            "Env": environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            "ExposedPorts": exposed,
            "HostConfig": ["PortBindings": bindings],
        ]
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

    private func endpoint(of name: String, executor: String, port: Int?) async throws -> String {
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
        return "\(host.address):\(published)"
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
        guard let url = url(path, query: query) else {
            throw DriverError("docker on host \(host.name): cannot build a URL from \(host.docker ?? "nothing")")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
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
