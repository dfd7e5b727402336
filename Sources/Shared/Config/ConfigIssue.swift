/// One problem in a config file, located for an editor: `apps.d/shop.yaml:12:5: replicas.online: expected an integer`.
///
/// `file` is the path exactly as the caller gave it. `path` is the key path (`hosts[1].probe.interval`)
/// and is empty for YAML syntax errors. Problems with a file as a whole (unreadable, missing) have
/// line 0 and print as `file: message`.
public struct ConfigIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var path: String
    public var message: String

    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    init(file: String, mark: YamlMark, path: String, message: String) {
        self.init(file: file, line: mark.line, column: mark.column, path: path, message: message)
    }

    public var description: String {
        let location = line > 0 ? "\(file):\(line):\(column)" : file
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// Every problem found in one load, in file order, so an operator fixes a file in one round.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(_ issues: [ConfigIssue]) {
        self.issues = issues
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
