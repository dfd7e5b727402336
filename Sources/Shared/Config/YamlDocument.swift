import CYaml

/// Loads one YAML document through libyaml's document API into a `YamlNode` tree.
enum YamlDocument {
    /// Alias expansion is bounded so a hostile or broken file (`&a [*a, *a]` chains, or an alias
    /// inside its own anchor) cannot exhaust memory or the stack.
    static let maxNodes = 100_000
    static let maxDepth = 64

    /// A loaded file: `root` is nil when it holds no document (empty or only comments). `issues` are
    /// problems that leave the tree usable (duplicate keys, a second document), so the caller can
    /// report them together with its own; syntax errors throw instead.
    struct Loaded {
        var root: YamlNode?
        var issues: [ConfigIssue]
    }

    static func load(_ bytes: [UInt8], file: String) throws(ConfigErrors) -> Loaded {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw ConfigErrors([ConfigIssue(file: file, line: 0, column: 0, path: "", message: "out of memory")])
        }
        defer { yaml_parser_delete(&parser) }

        // libyaml needs a valid pointer even for an empty file; the extra byte is never read.
        let input = bytes.isEmpty ? [0] : bytes
        let result: Result<Loaded, ConfigErrors> = input.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, bytes.count)
            return Result { () throws(ConfigErrors) in try loadSingleDocument(&parser, file: file) }
        }
        return try result.get()
    }

    private static func loadSingleDocument(_ parser: inout yaml_parser_t, file: String) throws(ConfigErrors) -> Loaded {
        var document = yaml_document_t()
        // yaml_parser_load deletes the document itself on failure and zeroes it, so this is safe on
        // every path, including the end-of-stream "document" that has no root.
        defer { yaml_document_delete(&document) }
        guard yaml_parser_load(&parser, &document) == 1 else { throw syntaxError(parser, file: file) }
        guard let root = yaml_document_get_root_node(&document) else { return Loaded(root: nil, issues: []) }

        var builder = TreeBuilder(file: file)
        let tree = builder.build(&document, root, path: "", depth: 0)
        if let tooLarge = builder.tooLarge { throw ConfigErrors([tooLarge]) }

        var next = yaml_document_t()
        defer { yaml_document_delete(&next) }
        if yaml_parser_load(&parser, &next) != 1 {
            builder.issues.append(syntaxError(parser, file: file).issues[0])
        } else if let extra = yaml_document_get_root_node(&next) {
            builder.issues.append(
                ConfigIssue(
                    file: file, mark: mark(extra.pointee.start_mark), path: "",
                    message: "only one YAML document per file"))
        }
        return Loaded(root: tree, issues: builder.issues)
    }

    private static func syntaxError(_ parser: yaml_parser_t, file: String) -> ConfigErrors {
        var message = parser.problem.map { String(cString: $0) } ?? "cannot parse YAML"
        if let context = parser.context { message += " \(String(cString: context))" }
        var position = mark(parser.problem_mark)
        if parser.error == YAML_READER_ERROR {
            // Reader errors (bad encoding) carry only a byte offset, not a mark.
            message += " at byte \(parser.problem_offset)"
            position = YamlMark(line: 1, column: 1)
        }
        return ConfigErrors([ConfigIssue(file: file, mark: position, path: "", message: message)])
    }

    static func mark(_ mark: yaml_mark_t) -> YamlMark {
        YamlMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private struct TreeBuilder {
        let file: String
        var issues: [ConfigIssue] = []
        var tooLarge: ConfigIssue?
        var nodeCount = 0

        init(file: String) { self.file = file }

        mutating func build(
            _ document: inout yaml_document_t, _ node: UnsafeMutablePointer<yaml_node_t>,
            path: String, depth: Int
        ) -> YamlNode {
            let position = YamlDocument.mark(node.pointee.start_mark)
            nodeCount += 1
            guard nodeCount <= YamlDocument.maxNodes, depth <= YamlDocument.maxDepth else {
                if tooLarge == nil {
                    tooLarge = ConfigIssue(
                        file: file, mark: position, path: path,
                        message:
                            "document too large or too deeply nested (more than \(YamlDocument.maxNodes) nodes after alias expansion, or \(YamlDocument.maxDepth) levels)"
                    )
                }
                return YamlNode(.scalar("", isPlain: true), mark: position)
            }
            switch node.pointee.type {
            case YAML_SEQUENCE_NODE:
                let items = node.pointee.data.sequence.items
                var children: [YamlNode] = []
                var item = items.start
                while let current = item, current != items.top {
                    if let child = yaml_document_get_node(&document, current.pointee) {
                        children.append(
                            build(&document, child, path: ConfigPath.index(path, children.count), depth: depth + 1))
                    }
                    item = current + 1
                }
                return YamlNode(.sequence(children), mark: position)
            case YAML_MAPPING_NODE:
                let pairs = node.pointee.data.mapping.pairs
                var entries: [YamlNode.Entry] = []
                var firstMarks: [String: YamlMark] = [:]
                var pair = pairs.start
                while let current = pair, current != pairs.top {
                    defer { pair = current + 1 }
                    guard let keyNode = yaml_document_get_node(&document, current.pointee.key),
                        let valueNode = yaml_document_get_node(&document, current.pointee.value)
                    else { continue }
                    let keyMark = YamlDocument.mark(keyNode.pointee.start_mark)
                    guard keyNode.pointee.type == YAML_SCALAR_NODE else {
                        issues.append(
                            ConfigIssue(
                                file: file, mark: keyMark, path: path, message: "mapping keys must be plain text"))
                        continue
                    }
                    let key = Self.scalarText(keyNode)
                    let childPath = ConfigPath.key(path, key)
                    if let first = firstMarks[key] {
                        issues.append(
                            ConfigIssue(
                                file: file, mark: keyMark, path: childPath,
                                message: "duplicate key (first at line \(first.line), column \(first.column))"))
                        continue
                    }
                    firstMarks[key] = keyMark
                    let value = build(&document, valueNode, path: childPath, depth: depth + 1)
                    entries.append(YamlNode.Entry(key: key, keyMark: keyMark, value: value))
                }
                return YamlNode(.mapping(entries), mark: position)
            default:
                let style = node.pointee.data.scalar.style
                return YamlNode(
                    .scalar(Self.scalarText(node), isPlain: style == YAML_PLAIN_SCALAR_STYLE), mark: position)
            }
        }

        private static func scalarText(_ node: UnsafeMutablePointer<yaml_node_t>) -> String {
            let scalar = node.pointee.data.scalar
            guard let value = scalar.value else { return "" }
            return String(decoding: UnsafeBufferPointer(start: value, count: scalar.length), as: UTF8.self)
        }
    }
}
