/// A 1-based position in a YAML source, as people count lines and columns in an editor.
public struct YamlMark: Sendable, Equatable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// A loaded YAML node. Deliberately untyped: the config decoder decides what a scalar means from
/// the schema, so `"3"` and `3` stay distinguishable (`isPlain`) and `on`/`yes` are never booleans.
public struct YamlNode: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        /// `isPlain` is false for quoted and block scalars, which are always strings.
        case scalar(String, isPlain: Bool)
        case sequence([YamlNode])
        /// In document order; keys are unique (the loader refuses duplicates).
        case mapping([Entry])
    }

    /// A mapping entry. Config keys are always scalars, so the key is kept as text with its position.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var keyMark: YamlMark
        public var value: YamlNode

        public init(key: String, keyMark: YamlMark, value: YamlNode) {
            self.key = key
            self.keyMark = keyMark
            self.value = value
        }
    }

    public var content: Content
    public var mark: YamlMark

    public init(_ content: Content, mark: YamlMark) {
        self.content = content
        self.mark = mark
    }

    /// `null`, `~` or nothing at all, unquoted (YAML core schema).
    public var isNull: Bool {
        guard case .scalar(let text, isPlain: true) = content else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }
}

/// Key paths as operators read them in messages: `replicas.online`, `hosts[1].probe.interval`.
enum ConfigPath {
    static func key(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : "\(parent).\(key)"
    }

    static func index(_ parent: String, _ index: Int) -> String {
        "\(parent)[\(index)]"
    }
}
