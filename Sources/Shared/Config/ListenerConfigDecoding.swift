import Foundation

/// The schema of `listener.yaml` (DESIGN section 3); every key is optional.
extension ConfigDecoder {
    static let tokenSources = ["left_bracket", "right_bracket", "waf", "firewall", "admin", ListenerConfig.readScope]
    /// Shorter secrets are guessable; the listener is reachable from the security devices' network.
    static let minimumTokenLength = 16

    func listenerConfig(_ root: YamlNode) -> ListenerConfig? {
        guard
            let top = mapping(
                root, "",
                keys: [
                    "http", "tcp", "admin", "apps_dir", "run_dir", "journal_dir", "fsync", "max_message_bytes",
                    "max_backlog_bytes", "journal_retain", "journal_retain_bytes", "tokens", "supervise",
                    "trend_interval", "instance", "cluster",
                ])
        else { return nil }
        let defaults = ListenerConfig()

        let http = top.section("http", keys: ["host", "port", "tls"]).flatMap { bind($0, defaults: defaults.http) }
        let tcp = top.section("tcp", keys: ["host", "port", "tls"]).flatMap { bind($0, defaults: defaults.tcp) }
        let admin = top.section("admin", keys: ["host", "port", "tls"]).flatMap { bind($0, defaults: defaults.admin) }
        let appsDir = top.optional("apps_dir", default: defaults.appsDir, nonEmptyString).map(resolvedPath)
        let runDir = top.optional("run_dir", default: defaults.runDir, nonEmptyString).map(resolvedPath)
        let journalDir = top.optional("journal_dir", default: defaults.journalDir, nonEmptyString).map(resolvedPath)
        let fsync = top.optional("fsync", default: defaults.fsync) {
            choice($0, $1, [ListenerConfig.FsyncPolicy.always, .batch, .none])
        }
        let maxMessageBytes = top.optional("max_message_bytes", default: defaults.maxMessageBytes) {
            int($0, $1, min: 1024, max: ListenerConfig.maxMessageBytesLimit)
        }
        let maxBacklogBytes = top.optional("max_backlog_bytes", default: defaults.maxBacklogBytes) { node, path in
            guard let value = int(node, path, min: 1) else { return nil }
            if let maxMessageBytes, value < maxMessageBytes {
                report(node.mark, path, "must be at least max_message_bytes (\(maxMessageBytes))")
                return nil
            }
            return value
        }
        let journalRetain = top.optional("journal_retain", default: defaults.journalRetain) {
            node, path -> Duration? in
            guard let value = duration(node, path) else { return nil }
            guard value <= ListenerConfig.journalRetainLimit else {
                report(node.mark, path, "must be at most 720h")
                return nil
            }
            return value
        }
        let journalRetainBytes = top.optional("journal_retain_bytes", default: defaults.journalRetainBytes) {
            int($0, $1, min: 0)
        }
        let tokens = top.optional("tokens", default: [], tokenList)
        let trendInterval = top.optional("trend_interval", default: defaults.trendInterval) {
            node, path -> Duration? in
            guard let value = duration(node, path) else { return nil }
            guard ListenerConfig.trendIntervalRange.contains(value) else {
                report(node.mark, path, "must be between 1s and 60s")
                return nil
            }
            return value
        }
        let supervise = top.section("supervise", keys: ["enabled", "worker"]).flatMap {
            section -> ListenerConfig.Supervise? in
            let enabled = section.optional("enabled", default: defaults.supervise.enabled, bool)
            // Like a hook's argv[0]: a path is resolved here, a bare name is looked up in PATH.
            let worker = section.optional("worker", default: defaults.supervise.worker, nonEmptyString)
                .map { $0.contains("/") ? resolvedPath($0) : $0 }
            guard let enabled, let worker else { return nil }
            return ListenerConfig.Supervise(enabled: enabled, worker: worker)
        }
        let instance = top.optional("instance", default: defaults.instance) { node, path -> String? in
            guard let text = nonEmptyString(node, path) else { return nil }
            guard ListenerConfig.isValidInstance(text) else {
                report(node.mark, path, "expected letters, digits, '.', '_' or '-' (at most 253), got \"\(text)\"")
                return nil
            }
            return text
        }
        let cluster = top.nullable("cluster") { node, path -> ListenerConfig.Cluster? in
            guard let map = mapping(node, path, keys: ["redis", "lease"]) else { return nil }
            let redis = map.required("redis", redisSettings)
            let lease = map.optional("lease", default: .seconds(3)) { node, path -> Duration? in
                guard let value = duration(node, path) else { return nil }
                guard ListenerConfig.Cluster.leaseRange.contains(value) else {
                    report(node.mark, path, "must be between 1s and 60s")
                    return nil
                }
                return value
            }
            guard let redis, let lease else { return nil }
            return ListenerConfig.Cluster(redis: redis, lease: lease)
        }
        if let cluster, cluster != nil, let supervise, !supervise.enabled {
            report(
                top.value("cluster")?.mark ?? root.mark, "cluster",
                "needs supervise.enabled: true: in cluster mode each instance starts the workers of the apps it owns")
        }
        if top.value("instance") == nil, let cluster, cluster != nil, !ListenerConfig.isValidInstance(defaults.instance)
        {
            report(
                top.value("cluster")?.mark ?? root.mark, "instance",
                "the host name \"\(defaults.instance)\" is not a valid instance name; set instance: <name>")
        }
        if let http, let tcp, let admin {
            let doors = [("http", http), ("tcp", tcp), ("admin", admin)]
            for (index, door) in doors.enumerated() {
                for earlier in doors[..<index] where earlier.1.port == door.1.port && door.1.port != 0 {
                    report(
                        top.value(door.0)?.mark ?? root.mark, ConfigPath.key(ConfigPath.key("", door.0), "port"),
                        "same port as \(earlier.0).port (\(door.1.port)); each door needs its own")
                }
            }
        }
        guard let http, let tcp, let admin, let appsDir, let runDir, let journalDir, let fsync, let maxMessageBytes,
            let maxBacklogBytes, let journalRetain, let journalRetainBytes, let tokens, let supervise,
            let trendInterval, let instance, let cluster
        else { return nil }
        var config = ListenerConfig(
            http: http, tcp: tcp, admin: admin, appsDir: appsDir, runDir: runDir, journalDir: journalDir, fsync: fsync,
            maxMessageBytes: maxMessageBytes, maxBacklogBytes: maxBacklogBytes, journalRetain: journalRetain,
            journalRetainBytes: journalRetainBytes, tokens: tokens,
            supervise: supervise, sourceFile: file)
        config.trendInterval = trendInterval
        config.instance = instance
        config.cluster = cluster
        return config
    }

    private func bind(_ map: MappingReader, defaults: ListenerConfig.Bind) -> ListenerConfig.Bind? {
        let host = map.optional("host", default: defaults.host, nonEmptyString)
        let port = map.optional("port", default: defaults.port) { int($0, $1, min: 1, max: 65535) }
        var doorTLS: ListenerConfig.TLS?
        if map.hasValue("tls") {
            guard let tls = map.section("tls", keys: ["cert", "key", "client_ca"]) else { return nil }
            let certificate = tls.required("cert", readablePath)
            let key = tls.required("key", readablePath)
            let clientCA = tls.nullable("client_ca", readablePath)
            guard let certificate, let key, let clientCA else { return nil }
            doorTLS = ListenerConfig.TLS(certificate: certificate, key: key, clientCA: clientCA)
        }
        guard let host, let port else { return nil }
        return ListenerConfig.Bind(host: host, port: port, tls: doorTLS)
    }

    /// A PEM file the listener reads at start: resolved against the config's directory, and it
    /// must exist now rather than fail the door later.
    private func readablePath(_ node: YamlNode, _ path: String) -> String? {
        guard let text = nonEmptyString(node, path) else { return nil }
        let resolved = resolvedPath(text)
        guard FileManager.default.isReadableFile(atPath: resolved) else {
            report(node.mark, path, "cannot read \(resolved): give the path of a PEM file")
            return nil
        }
        return resolved
    }

    private func tokenList(_ node: YamlNode, _ path: String) -> [ListenerConfig.Token]? {
        guard let items = sequence(node, path) else { return nil }
        var firstByName: [String: Int] = [:]
        var firstBySecret: [String: Int] = [:]
        let tokens = items.enumerated().map { index, item -> ListenerConfig.Token? in
            let itemPath = ConfigPath.index(path, index)
            guard let map = mapping(item, itemPath, keys: ["name", "token", "token_sha256", "sources", "apps"]) else {
                return nil
            }
            let name = map.required("name", nonEmptyString)
            // Exactly one of `token` (plaintext) and `token_sha256` (hex digest of the secret).
            let hasPlain = map.value("token") != nil
            let hasHash = map.value("token_sha256") != nil
            if hasPlain == hasHash {
                report(
                    item.mark, itemPath,
                    hasPlain
                        ? "give token or token_sha256, not both"
                        : "token: required (or token_sha256: <64 hex digits>)")
                return nil
            }
            var secret: String?
            var digest: [UInt8]?
            if hasPlain {
                secret = map.required("token") { node, path -> String? in
                    guard let text = string(node, path) else { return nil }
                    guard text.count >= Self.minimumTokenLength else {
                        report(node.mark, path, "token too short (at least \(Self.minimumTokenLength) characters)")
                        return nil
                    }
                    return text
                }
            } else {
                digest = map.required("token_sha256") { node, path -> [UInt8]? in
                    guard let text = string(node, path) else { return nil }
                    guard let bytes = Self.hexDigest(text) else {
                        report(
                            node.mark, path,
                            "expected 64 hex digits (sha256sum of the token, e.g. `printf %s \"$TOKEN\" | sha256sum`)")
                        return nil
                    }
                    return bytes
                }
                if digest != nil { secret = "" }
            }
            let sources = map.required("sources") { node, path in
                scopeList(
                    node, path, invalid: "unknown source (expected \(Self.tokenSources.joined(separator: ", ")) or *)"
                ) {
                    Self.tokenSources.contains($0)
                }
            }
            let apps = map.required("apps") { node, path in
                scopeList(
                    node, path, invalid: "invalid app name (expected [a-z0-9-]{1,32} or *)", isValid: AppName.isValid)
            }
            if let name {
                if let first = firstByName[name] {
                    report(
                        map.value("name")?.mark ?? item.mark, map.path("name"),
                        "duplicate token name (also \(ConfigPath.index(path, first)))")
                    return nil
                }
                firstByName[name] = index
            }
            if let secret {
                // The token alone identifies the sender, so two entries cannot share one (nor one digest).
                let key = digest.map { "sha256:" + $0.map(String.init).joined(separator: ",") } ?? "plain:" + secret
                let field = digest == nil ? "token" : "token_sha256"
                if let first = firstBySecret[key] {
                    report(
                        map.value(field)?.mark ?? item.mark, map.path(field),
                        "same token as \(ConfigPath.index(path, first))")
                    return nil
                }
                firstBySecret[key] = index
            }
            guard let name, let secret, let sources, let apps else { return nil }
            return ListenerConfig.Token(name: name, token: secret, tokenSHA256: digest, sources: sources, apps: apps)
        }
        return tokens.contains(nil) ? nil : tokens.compactMap { $0 }
    }

    /// The 32 bytes of a 64-digit hex SHA-256 digest (either case), or nil.
    static func hexDigest(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case 0x30...0x39: digit - 0x30
            case 0x61...0x66: digit - 0x61 + 10
            case 0x41...0x46: digit - 0x41 + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// A token's `sources` or `apps`: a non-empty list of known values, or `*` for all.
    private func scopeList(
        _ node: YamlNode, _ path: String, invalid message: String,
        isValid: (String) -> Bool
    ) -> [String]? {
        guard let items = sequence(node, path) else { return nil }
        guard !items.isEmpty else {
            report(node.mark, path, "must not be empty (use [\"*\"] for all)")
            return nil
        }
        var valid = true
        var values: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = ConfigPath.index(path, index)
            guard let value = string(item, itemPath) else {
                valid = false
                continue
            }
            guard value == "*" || isValid(value) else {
                report(item.mark, itemPath, message)
                valid = false
                continue
            }
            values.append(value)
        }
        return valid ? values : nil
    }
}
