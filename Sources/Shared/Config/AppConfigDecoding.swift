/// An app config with the positions the cross-file checks of `ConfigLoader.loadAppsDirectory` point at.
struct DecodedApp {
    var config: AppConfig
    var appMark: YamlMark
    var redisDBMark: YamlMark
}

/// The schema of `apps.d/<app>.yaml` (DESIGN sections 3 and 8).
extension ConfigDecoder {
    static let hookPlaceholders = ["app", "executor", "variant", "host"]
    /// The inspect hook is also told the capture directory it writes its evidence into.
    static let inspectPlaceholders = hookPlaceholders + ["dir"]

    func appConfig(_ root: YamlNode) -> DecodedApp? {
        guard
            let top = mapping(
                root, "",
                keys: [
                    "app", "redis", "replicas", "variants", "hosts", "scheduling", "brackets", "lists",
                    "run_dir", "max_parallel_actions", "reconcile_every", "listener_uid", "worker_uid", "forensics",
                    "log_export",
                ])
        else { return nil }

        let app = top.required("app") { node, path -> String? in
            guard let name = string(node, path) else { return nil }
            guard AppName.isValid(name) else {
                report(node.mark, path, "invalid app name (expected [a-z0-9-]{1,32})")
                return nil
            }
            return name
        }
        let redis = top.required("redis", redisSettings)
        let replicas = top.required("replicas", replicaCounts)
        let variants = top.required("variants", variantList)
        let hosts = top.required("hosts", hostList)
        let scheduling = top.section(
            "scheduling",
            keys: [
                "strategy", "rotate_every", "rotate_jitter", "rotate_per_executor", "abnormal", "feedback", "learning",
                "seed",
            ]
        )
        .flatMap(schedulingSettings)
        let brackets = top.section("brackets", keys: ["webhook"]).flatMap { section in
            section.nullable("webhook", httpURL).map { Brackets(webhook: $0) }
        }
        let lists = top.section("lists", keys: ["blacklist", "whitelist"]).flatMap { section -> Lists? in
            let blacklist = section.optional("blacklist", default: [], stringList)
            let whitelist = section.optional("whitelist", default: [], stringList)
            guard let blacklist, let whitelist else { return nil }
            return Lists(blacklist: blacklist, whitelist: whitelist)
        }
        let runDir = top.optional("run_dir", default: "./run", nonEmptyString).map(resolvedPath)
        let maxParallelActions = top.optional("max_parallel_actions", default: 4) { int($0, $1, min: 1) }
        let reconcileEvery = top.optional("reconcile_every", default: .seconds(30), duration)
        // -1 stands for "not given": the worker then trusts its own uid (see AppConfig.listenerUID).
        let listenerUID = top.optional("listener_uid", default: -1) { int($0, $1, min: 0, max: Int(UInt32.max) - 1) }
        // -1: not given; the listener then takes whoever listens on the app's socket.
        let workerUID = top.optional("worker_uid", default: -1) { int($0, $1, min: 0, max: Int(UInt32.max) - 1) }
        let forensics = top.section("forensics", keys: ["dir", "export", "timeout"]).flatMap {
            section -> ForensicsSettings? in
            let dir = section.nullable("dir", nonEmptyString)
            let export = section.optional("export", default: false, bool)
            let timeout = section.optional("timeout", default: .seconds(120), positiveDuration)
            guard let dir, let export, let timeout else { return nil }
            return ForensicsSettings(dir: dir.map(resolvedPath), export: export, timeout: timeout)
        }
        let logExport = logExport(top)

        if let variants, let hosts {
            requireImagesForDocker(variants: variants, hosts: hosts, in: top)
        }
        guard let app, let redis, let replicas, let variants, let hosts, let scheduling, let brackets, let lists,
            let runDir, let maxParallelActions, let reconcileEvery, let listenerUID, let workerUID, let forensics,
            let logExport
        else { return nil }
        let config = AppConfig(
            app: app, redis: redis, replicas: replicas, variants: variants, hosts: hosts, scheduling: scheduling,
            brackets: brackets, lists: lists, runDir: runDir, maxParallelActions: maxParallelActions,
            reconcileEvery: reconcileEvery, listenerUID: listenerUID < 0 ? nil : UInt32(listenerUID),
            workerUID: workerUID < 0 ? nil : UInt32(workerUID),
            forensics: forensics, logExport: logExport, sourceFile: file)
        return DecodedApp(
            config: config, appMark: top.value("app")?.mark ?? root.mark,
            redisDBMark: top.value("redis")?.mapValue("db")?.mark ?? root.mark)
    }

    func redisSettings(_ node: YamlNode, _ path: String) -> RedisSettings? {
        guard
            let map = mapping(
                node, path, keys: ["host", "port", "db", "password", "connect_timeout", "sentinel", "wait"])
        else {
            return nil
        }
        let host = map.optional("host", default: "127.0.0.1", nonEmptyString)
        let port = map.optional("port", default: 6379) { int($0, $1, min: 1, max: 65535) }
        let db = map.required("db") { int($0, $1, min: 0, max: 15) }
        let password = map.nullable("password", string)
        let connectTimeout = map.optional("connect_timeout", default: .seconds(2), positiveDuration)
        let sentinel = map.nullable("sentinel", sentinelSettings)
        let wait = map.nullable("wait", replicaWait)
        if map.hasValue("sentinel"), map.hasValue("host") || map.hasValue("port") {
            report(
                map.value("sentinel")?.mark ?? node.mark, map.path("sentinel"),
                "give either host and port or sentinel, not both: with sentinel the master's address comes from the sentinels"
            )
            return nil
        }
        guard let host, let port, let db, let password, let connectTimeout, let sentinel, let wait else { return nil }
        return RedisSettings(
            host: host, port: port, db: db, password: password, connectTimeout: connectTimeout, sentinel: sentinel,
            wait: wait)
    }

    private func sentinelSettings(_ node: YamlNode, _ path: String) -> SentinelSettings? {
        guard let map = mapping(node, path, keys: ["master", "nodes", "password"]) else { return nil }
        let master = map.required("master", nonEmptyString)
        let nodes = map.required("nodes", sentinelNodes)
        let password = map.nullable("password", string)
        guard let master, let nodes, let password else { return nil }
        return SentinelSettings(master: master, nodes: nodes, password: password)
    }

    private func sentinelNodes(_ node: YamlNode, _ path: String) -> [SentinelSettings.Node]? {
        guard let items = sequence(node, path) else { return nil }
        guard !items.isEmpty else {
            report(node.mark, path, "name at least one sentinel as \"host:port\"")
            return nil
        }
        let nodes = items.enumerated().map { index, item -> SentinelSettings.Node? in
            let itemPath = ConfigPath.index(path, index)
            guard let text = nonEmptyString(item, itemPath) else { return nil }
            guard let node = Self.hostAndPort(text) else {
                report(item.mark, itemPath, "expected \"host:port\" with a port from 1 to 65535, got \"\(text)\"")
                return nil
            }
            return node
        }
        return nodes.contains(nil) ? nil : nodes.compactMap { $0 }
    }

    /// `host:port` or `[v6-address]:port`.
    static func hostAndPort(_ text: String) -> SentinelSettings.Node? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = Substring(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        return SentinelSettings.Node(host: String(host), port: port)
    }

    private func replicaWait(_ node: YamlNode, _ path: String) -> ReplicaWait? {
        guard let map = mapping(node, path, keys: ["replicas", "timeout"]) else { return nil }
        let replicas = map.optional("replicas", default: 1) { int($0, $1, min: 1, max: 64) }
        let timeout = map.optional("timeout", default: .milliseconds(500), positiveDuration)
        guard let replicas, let timeout else { return nil }
        return ReplicaWait(replicas: replicas, timeout: timeout)
    }

    private func replicaCounts(_ node: YamlNode, _ path: String) -> Replicas? {
        guard let map = mapping(node, path, keys: ["online", "standby", "min_online", "retain_dirty", "dirty_ttl"])
        else { return nil }
        let online = map.required("online") { int($0, $1, min: 1) }
        let standby = map.required("standby") { int($0, $1, min: 0) }
        let minOnline = map.required("min_online") { int($0, $1, min: 1) }
        let retainDirty = map.optional("retain_dirty", default: 0) { int($0, $1, min: 0) }
        let dirtyTTL = map.optional("dirty_ttl", default: .zero, duration)
        guard let online, let standby, let minOnline, let retainDirty, let dirtyTTL else { return nil }
        guard minOnline <= online else {
            report(
                map.value("min_online")?.mark ?? node.mark, map.path("min_online"),
                "must not be greater than online (\(online))")
            return nil
        }
        return Replicas(
            online: online, standby: standby, minOnline: minOnline, retainDirty: retainDirty,
            dirtyTTL: dirtyTTL)
    }

    private func variantList(_ node: YamlNode, _ path: String) -> [Variant]? {
        guard let items = sequence(node, path) else { return nil }
        guard !items.isEmpty else {
            report(node.mark, path, "at least one variant is required")
            return nil
        }
        var firstIndex: [String: Int] = [:]
        let variants = items.enumerated().map { index, item -> Variant? in
            let itemPath = ConfigPath.index(path, index)
            guard
                let map = mapping(item, itemPath, keys: ["name", "traits", "image", "ports", "env", "command"])
            else {
                return nil
            }
            let name = map.required("name", nonEmptyString)
            let traits = map.optional("traits", default: [:], stringMap)
            let image = map.nullable("image", nonEmptyString)
            let ports = map.optional("ports", default: [], portList)
            let env = map.optional("env", default: [:], environment)
            let command = map.nullable("command", containerCommand)
            if let name {
                if let first = firstIndex[name] {
                    report(
                        map.value("name")?.mark ?? item.mark, map.path("name"),
                        "duplicate variant name (also \(ConfigPath.index(path, first)))")
                    return nil
                }
                firstIndex[name] = index
            }
            guard let name, let traits, let image, let ports, let env, let command else { return nil }
            return Variant(name: name, traits: traits, image: image, ports: ports, env: env, command: command)
        }
        return variants.contains(nil) ? nil : variants.compactMap { $0 }
    }

    private func hostList(_ node: YamlNode, _ path: String) -> [HostConfig]? {
        guard let items = sequence(node, path) else { return nil }
        guard !items.isEmpty else {
            report(node.mark, path, "at least one host is required")
            return nil
        }
        var firstIndex: [String: Int] = [:]
        let hosts = items.enumerated().map { index, item -> HostConfig? in
            let itemPath = ConfigPath.index(path, index)
            guard let host = hostConfig(item, itemPath) else { return nil }
            if let first = firstIndex[host.name] {
                report(
                    item.mapValue("name")?.mark ?? item.mark, ConfigPath.key(itemPath, "name"),
                    "duplicate host name (also \(ConfigPath.index(path, first)))")
                return nil
            }
            firstIndex[host.name] = index
            return host
        }
        return hosts.contains(nil) ? nil : hosts.compactMap { $0 }
    }

    private func hostConfig(_ node: YamlNode, _ path: String) -> HostConfig? {
        guard
            let map = mapping(
                node, path,
                keys: [
                    "name", "address", "driver", "docker", "command", "probe", "env", "docker_timeout",
                    "docker_network", "ports", "ready_timeout",
                ])
        else {
            return nil
        }
        let name = map.required("name", nonEmptyString)
        let address = map.required("address", nonEmptyString)
        let driver = map.required("driver") { choice($0, $1, [DriverKind.docker, .command]) }
        // Both driver sections are decoded whatever the driver, so their own mistakes are reported too.
        let docker = map.nullable("docker", dockerEndpoint)
        let command = map.nullable("command", commandHooks)
        let probe = map.nullable("probe", probeSettings)
        let env = map.optional("env", default: [:], environment)
        let dockerTimeout = map.optional("docker_timeout", default: .seconds(60), positiveDuration)
        let network = map.optional("docker_network", default: .bridge) {
            choice($0, $1, [DockerNetwork.bridge, .host])
        }
        let ports = map.nullable("ports", portRange)
        let readyTimeout = map.optional("ready_timeout", default: HostConfig.defaultReadyTimeout, duration)

        switch driver {
        case .docker?:
            if docker == .some(nil) { report(node.mark, map.path("docker"), "required key missing") }
            if map.hasValue("command") {
                report(map.value("command")?.mark ?? node.mark, map.path("command"), "not allowed with driver: docker")
            }
            // Host networking has no engine-picked ports: the worker hands them out of this range.
            if network == .host, ports == .some(nil) {
                report(
                    node.mark, map.path("ports"),
                    "required key missing (docker_network: host gives each executor a port of this range, "
                        + "e.g. ports: 20000-20999)")
            }
            if network == .bridge, map.hasValue("ports") {
                report(
                    map.value("ports")?.mark ?? node.mark, map.path("ports"),
                    "only allowed with docker_network: host (bridge publishes variants[].ports to ports the engine picks)"
                )
            }
        case .command?:
            if command == .some(nil) { report(node.mark, map.path("command"), "required key missing") }
            for key in ["docker", "docker_timeout", "env", "docker_network", "ports", "ready_timeout"]
            where map.hasValue(key) {
                report(map.value(key)?.mark ?? node.mark, map.path(key), "not allowed with driver: command")
            }
        case nil:
            break
        }
        guard let name, let address, let driver, let docker, let command, let probe, let env, let dockerTimeout,
            let network, let ports, let readyTimeout,
            (driver == .docker) == (docker != nil), (driver == .command) == (command != nil),
            driver == .command || (network == .host) == (ports != nil)
        else { return nil }
        return HostConfig(
            name: name, address: address, driver: driver, docker: docker, command: command, probe: probe,
            env: env, dockerTimeout: dockerTimeout, dockerNetwork: network, ports: ports, readyTimeout: readyTimeout)
    }

    /// `FIRST-LAST` (or one port): the host ports executors may listen on with host networking.
    private func portRange(_ node: YamlNode, _ path: String) -> ClosedRange<Int>? {
        guard case .scalar(let text, isPlain: true) = node.content, !node.isNull else {
            report(node.mark, path, "expected a port range like 20000-20999")
            return nil
        }
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(bounds.count), let first = bounds.first!, let last = bounds.last!,
            (1...65535).contains(first), (1...65535).contains(last)
        else {
            report(node.mark, path, "expected a port range like 20000-20999 (ports between 1 and 65535)")
            return nil
        }
        guard first <= last else {
            report(node.mark, path, "the range's first port \(first) is above its last \(last); write \(last)-\(first)")
            return nil
        }
        return first...last
    }

    /// A container's argv (docker driver): a non-empty list of strings, passed to the engine as is
    /// but for `{port}`.
    private func containerCommand(_ node: YamlNode, _ path: String) -> [String]? {
        guard let argv = stringList(node, path) else { return nil }
        guard !argv.isEmpty else {
            report(node.mark, path, "must be a non-empty list of arguments (or leave it out for the image's own)")
            return nil
        }
        return argv
    }

    private func dockerEndpoint(_ node: YamlNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        let isTCP = text.hasPrefix("tcp://") && text.count > "tcp://".count
        let isUnix = text.hasPrefix("unix:///")
        guard isTCP || isUnix else {
            report(node.mark, path, "expected tcp://host:port or unix:///path")
            return nil
        }
        return text
    }

    /// Container ports: distinct integers 1...65535.
    private func portList(_ node: YamlNode, _ path: String) -> [Int]? {
        guard let items = sequence(node, path) else { return nil }
        var ports: [Int] = []
        var valid = true
        for (index, item) in items.enumerated() {
            guard let port = int(item, ConfigPath.index(path, index), min: 1, max: 65535) else {
                valid = false
                continue
            }
            if ports.contains(port) {
                report(item.mark, ConfigPath.index(path, index), "duplicate port \(port)")
                valid = false
            }
            ports.append(port)
        }
        return valid ? ports : nil
    }

    /// Container environment: names of letters, digits and `_`, not starting with a digit.
    private func environment(_ node: YamlNode, _ path: String) -> [String: String]? {
        guard let values = stringMap(node, path), case .mapping(let entries) = node.content else { return nil }
        for entry in entries {
            let name = entry.key
            let validName =
                !name.isEmpty && !name.first!.isNumber
                && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            if !validName {
                report(
                    entry.value.mark, ConfigPath.key(path, name),
                    "invalid environment variable name (expected letters, digits and _, not starting with a digit)")
                return nil
            }
        }
        return values
    }

    private func commandHooks(_ node: YamlNode, _ path: String) -> CommandHooks? {
        guard let map = mapping(node, path, keys: ["timeout", "create", "clean", "remove", "list", "inspect"]) else {
            return nil
        }
        let timeout = map.optional("timeout", default: .seconds(30), positiveDuration)
        let create = map.required("create") { hookArgv($0, $1) }
        let clean = map.required("clean") { hookArgv($0, $1) }
        let remove = map.required("remove") { hookArgv($0, $1) }
        let list = map.required("list") { hookArgv($0, $1) }
        let inspect = map.nullable("inspect") { hookArgv($0, $1, placeholders: Self.inspectPlaceholders) }
        guard let timeout, let create, let clean, let remove, let list, let inspect else { return nil }
        return CommandHooks(
            timeout: timeout, create: create, clean: clean, remove: remove, list: list, inspect: inspect)
    }

    /// A hook's argv. `argv[0]` with a `/` is a path and is resolved against the config file's
    /// directory, so hooks ship next to the config; a bare name is looked up in PATH when run.
    private func hookArgv(
        _ node: YamlNode, _ path: String, placeholders: [String] = ConfigDecoder.hookPlaceholders
    ) -> [String]? {
        guard let items = sequence(node, path) else { return nil }
        guard !items.isEmpty else {
            report(node.mark, path, "must be a non-empty list of arguments")
            return nil
        }
        var valid = true
        var argv: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = ConfigPath.index(path, index)
            guard let argument = index == 0 ? nonEmptyString(item, itemPath) : string(item, itemPath) else {
                valid = false
                continue
            }
            if let unknown = Self.unknownPlaceholder(in: argument, known: placeholders) {
                let expected = placeholders.map { "{\($0)}" }
                report(
                    item.mark, itemPath,
                    "unknown placeholder {\(unknown)} (expected \(expected.dropLast().joined(separator: ", ")) or \(expected.last ?? ""))"
                )
                valid = false
            }
            argv.append(argument)
        }
        guard valid else { return nil }
        if argv[0].contains("/") { argv[0] = resolvedPath(argv[0]) }
        return argv
    }

    /// The first `{name}` whose name is not a hook placeholder. A `{` without a closing `}` is literal.
    static func unknownPlaceholder(in argument: String, known: [String] = ConfigDecoder.hookPlaceholders) -> String? {
        var rest = argument[...]
        while let open = rest.firstIndex(of: "{") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "}") else { return nil }
            let name = String(rest[afterOpen..<close])
            if !known.contains(name) { return name }
            rest = rest[rest.index(after: close)...]
        }
        return nil
    }

    private func probeSettings(_ node: YamlNode, _ path: String) -> Probe? {
        guard let map = mapping(node, path, keys: ["http", "tcp", "interval", "fall", "rise"]) else { return nil }
        let http = map.nullable("http", httpURL)
        let tcp = map.nullable("tcp", tcpTarget)
        let interval = map.optional("interval", default: .seconds(1), positiveDuration)
        let fall = map.optional("fall", default: 3) { int($0, $1, min: 1) }
        let rise = map.optional("rise", default: 2) { int($0, $1, min: 1) }
        guard map.hasValue("http") != map.hasValue("tcp") else {
            report(node.mark, path, "exactly one of http or tcp is required")
            return nil
        }
        let target: Probe.Target?
        switch (http, tcp) {
        case (let url??, _): target = .http(url)
        case (_, let endpoint??): target = .tcp(host: endpoint.host, port: endpoint.port)
        default: target = nil
        }
        guard let target, let interval, let fall, let rise else { return nil }
        return Probe(target: target, interval: interval, fall: fall, rise: rise)
    }

    private func tcpTarget(_ node: YamlNode, _ path: String) -> (host: String, port: Int)? {
        guard let text = string(node, path) else { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else {
            report(node.mark, path, "expected host:port")
            return nil
        }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else {
            report(node.mark, path, "expected host:port")
            return nil
        }
        return (String(host), port)
    }

    private func schedulingSettings(_ map: MappingReader) -> Scheduling? {
        let strategy = map.optional("strategy", default: .heterogeneity) { choice($0, $1, SelectionStrategy.allCases) }
        let rotateEvery = map.optional("rotate_every", default: .seconds(600), duration)
        let rotateJitter = map.optional("rotate_jitter", default: 0.2) { fraction($0, $1) }
        let rotatePerExecutor = map.optional("rotate_per_executor", default: false, bool)
        let abnormal = map.section("abnormal", keys: ["dissents", "window", "degraded", "low_severity"])
            .flatMap { section -> (dissents: Int, window: Duration, degraded: Int, lowSeverity: Int)? in
                let dissents = section.optional("dissents", default: 3) { int($0, $1, min: 1) }
                let window = section.optional("window", default: .seconds(60), positiveDuration)
                let degraded = section.optional("degraded", default: 3) { int($0, $1, min: 0) }
                let lowSeverity = section.optional("low_severity", default: 5) { int($0, $1, min: 0) }
                guard let dissents, let window, let degraded, let lowSeverity else { return nil }
                return (dissents, window, degraded, lowSeverity)
            }
        let feedback = map.section("feedback", keys: ["blacklist_suspects", "suspect_ttl", "variants"])
            .flatMap { section -> Feedback? in
                let blacklist = section.optional("blacklist_suspects", default: true, bool)
                let ttl = section.optional("suspect_ttl", default: .seconds(3600), positiveDuration)
                let variants = section.optional("variants", default: 2) { int($0, $1, min: 2) }
                guard let blacklist, let ttl, let variants else { return nil }
                return Feedback(blacklistSuspects: blacklist, suspectTTL: ttl, variants: variants)
            }
        let learning = map.section("learning", keys: ["enabled", "half_life", "eject_below", "max_patterns"])
            .flatMap { section -> Learning? in
                let enabled = section.optional("enabled", default: true, bool)
                // Bounded so that decay factors stay meaningful in Double and a typo cannot mean "forever".
                let halfLife = section.optional("half_life", default: .seconds(600)) { node, path -> Duration? in
                    guard let value = positiveDuration(node, path) else { return nil }
                    guard value <= .seconds(30 * 86_400) else {
                        report(node.mark, path, "must be at most 30 days")
                        return nil
                    }
                    return value
                }
                let ejectBelow = section.optional("eject_below", default: 0.25) { fraction($0, $1) }
                let maxPatterns = section.optional("max_patterns", default: 256) { int($0, $1, min: 1, max: 65_536) }
                guard let enabled, let halfLife, let ejectBelow, let maxPatterns else { return nil }
                return Learning(enabled: enabled, halfLife: halfLife, ejectBelow: ejectBelow, maxPatterns: maxPatterns)
            }
        let seed = map.nullable("seed") { node, path -> UInt64? in
            guard case .scalar(let text, isPlain: true) = node.content, let value = UInt64(text) else {
                report(node.mark, path, "expected null or a non-negative integer")
                return nil
            }
            return value
        }
        guard let strategy, let rotateEvery, let rotateJitter, let rotatePerExecutor, let abnormal, let feedback,
            let learning, let seed
        else { return nil }
        return Scheduling(
            strategy: strategy, rotateEvery: rotateEvery, abnormalDissents: abnormal.dissents,
            abnormalWindow: abnormal.window, seed: seed, abnormalDegraded: abnormal.degraded,
            abnormalLowSeverity: abnormal.lowSeverity, rotateJitter: rotateJitter, feedback: feedback,
            rotatePerExecutor: rotatePerExecutor, learning: learning)
    }

    /// The docker driver creates containers from the variant's image and publishes its ports, so
    /// every variant needs both as soon as any host uses that driver.
    private func requireImagesForDocker(variants: [Variant], hosts: [HostConfig], in top: MappingReader) {
        guard let dockerHost = hosts.firstIndex(where: { $0.driver == .docker }),
            case .sequence(let items)? = top.value("variants")?.content
        else { return }
        for (index, variant) in variants.enumerated() where variant.image == nil {
            report(
                items[index].mark, ConfigPath.key(ConfigPath.index("variants", index), "image"),
                "required key missing (hosts[\(dockerHost)] uses the docker driver)")
        }
        // The first published port is the executor's endpoint for the brackets; with host
        // networking the host's `ports` range gives it instead.
        guard let bridgeHost = hosts.firstIndex(where: { $0.driver == .docker && $0.dockerNetwork == .bridge })
        else { return }
        for (index, variant) in variants.enumerated() where variant.ports.isEmpty {
            report(
                items[index].mark, ConfigPath.key(ConfigPath.index("variants", index), "ports"),
                "required key missing (hosts[\(bridgeHost)] uses the docker driver; the first port is the endpoint)")
        }
    }
}

extension YamlNode {
    /// The value under `key` when this node is a mapping.
    func mapValue(_ key: String) -> YamlNode? {
        guard case .mapping(let entries) = content else { return nil }
        return entries.first { $0.key == key }?.value
    }
}
