import Foundation

/// Turns `YamlNode`s into typed values for one file, collecting every problem instead of stopping
/// at the first. Conversions return nil after reporting; callers substitute a placeholder and go on,
/// and the loader throws at the end if anything was reported, so placeholders never escape.
final class ConfigDecoder {
    let file: String
    /// Absolute directory of the config file; relative paths in it are resolved against this.
    let baseDirectory: URL
    private(set) var issues: [ConfigIssue] = []

    init(file: String) {
        self.file = file
        self.baseDirectory = URL(fileURLWithPath: file).deletingLastPathComponent()
    }

    func report(_ mark: YamlMark, _ path: String, _ message: String) {
        issues.append(ConfigIssue(file: file, mark: mark, path: path, message: message))
    }

    /// Opens a mapping with a closed set of keys; unknown keys are reported, never ignored.
    func mapping(_ node: YamlNode, _ path: String, keys: [String]) -> MappingReader? {
        guard case .mapping(let entries) = node.content else {
            report(node.mark, path, "expected a mapping")
            return nil
        }
        for entry in entries where !keys.contains(entry.key) {
            report(
                entry.keyMark, ConfigPath.key(path, entry.key),
                "unknown key (expected one of: \(keys.joined(separator: ", ")))")
        }
        return MappingReader(decoder: self, node: node, path: path, entries: entries)
    }

    func sequence(_ node: YamlNode, _ path: String) -> [YamlNode]? {
        guard case .sequence(let items) = node.content else {
            report(node.mark, path, "expected a list")
            return nil
        }
        return items
    }

    // MARK: Scalars

    func string(_ node: YamlNode, _ path: String) -> String? {
        guard case .scalar(let text, _) = node.content, !node.isNull else {
            report(node.mark, path, "expected a string")
            return nil
        }
        return text
    }

    func nonEmptyString(_ node: YamlNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard !text.isEmpty else {
            report(node.mark, path, "must not be empty")
            return nil
        }
        return text
    }

    /// Plain decimal integers only: a quoted `"3"` or `3.5` is a mistake worth pointing at.
    func int(_ node: YamlNode, _ path: String, min: Int? = nil, max: Int? = nil) -> Int? {
        guard case .scalar(let text, isPlain: true) = node.content, let value = Int(text) else {
            report(node.mark, path, "expected an integer")
            return nil
        }
        switch (min, max) {
        case (let low?, let high?) where value < low || value > high:
            report(node.mark, path, "must be between \(low) and \(high)")
            return nil
        case (let low?, nil) where value < low:
            report(node.mark, path, "must be at least \(low)")
            return nil
        case (nil, let high?) where value > high:
            report(node.mark, path, "must be at most \(high)")
            return nil
        default:
            return value
        }
    }

    func bool(_ node: YamlNode, _ path: String) -> Bool? {
        guard case .scalar(let text, isPlain: true) = node.content, text == "true" || text == "false" else {
            report(node.mark, path, "expected true or false")
            return nil
        }
        return text == "true"
    }

    /// A plain decimal number in `0 ..< 1` (a share, such as a jitter).
    func fraction(_ node: YamlNode, _ path: String) -> Double? {
        guard case .scalar(let text, isPlain: true) = node.content, let value = Double(text), value.isFinite else {
            report(node.mark, path, "expected a number")
            return nil
        }
        guard value >= 0, value < 1 else {
            report(node.mark, path, "must be at least 0 and less than 1")
            return nil
        }
        return value
    }

    func duration(_ node: YamlNode, _ path: String) -> Duration? {
        guard case .scalar(let text, _) = node.content, let value = DurationText.parse(text) else {
            report(node.mark, path, "expected a duration like 200ms, 1s, 10m or 1h")
            return nil
        }
        return value
    }

    func choice<Value: RawRepresentable<String>>(_ node: YamlNode, _ path: String, _ values: [Value]) -> Value? {
        guard case .scalar(let text, _) = node.content, !node.isNull,
            let value = values.first(where: { $0.rawValue == text })
        else {
            report(node.mark, path, "expected one of: \(values.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    func stringList(_ node: YamlNode, _ path: String) -> [String]? {
        guard let items = sequence(node, path) else { return nil }
        let values = items.enumerated().map { string($1, ConfigPath.index(path, $0)) }
        return values.contains(nil) ? nil : values.compactMap { $0 }
    }

    /// A free-form mapping of text to text (variant traits).
    func stringMap(_ node: YamlNode, _ path: String) -> [String: String]? {
        guard case .mapping(let entries) = node.content else {
            report(node.mark, path, "expected a mapping")
            return nil
        }
        var result: [String: String] = [:]
        var valid = true
        for entry in entries {
            if let text = string(entry.value, ConfigPath.key(path, entry.key)) {
                result[entry.key] = text
            } else {
                valid = false
            }
        }
        return valid ? result : nil
    }

    func positiveDuration(_ node: YamlNode, _ path: String) -> Duration? {
        guard let value = duration(node, path) else { return nil }
        guard value > .zero else {
            report(node.mark, path, "must be greater than 0")
            return nil
        }
        return value
    }

    func httpURL(_ node: YamlNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), URL(string: text)?.host != nil else {
            report(node.mark, path, "expected an http:// or https:// URL")
            return nil
        }
        return text
    }

    /// Absolute, normalised form of a path written in this file.
    func resolvedPath(_ text: String) -> String {
        guard !text.hasPrefix("/") else { return URL(fileURLWithPath: text).standardizedFileURL.path }
        return URL(fileURLWithPath: text, relativeTo: baseDirectory).standardizedFileURL.path
    }
}

/// The entries of one mapping, looked up by key, with the key paths and "required key missing"
/// reports done in one place.
struct MappingReader {
    let decoder: ConfigDecoder
    let node: YamlNode
    let path: String
    let entries: [YamlNode.Entry]

    func path(_ key: String) -> String { ConfigPath.key(path, key) }

    func value(_ key: String) -> YamlNode? {
        entries.first { $0.key == key }?.value
    }

    /// Present and not `null`.
    func hasValue(_ key: String) -> Bool {
        value(key).map { !$0.isNull } ?? false
    }

    /// Reports a missing key at the mapping itself, which is where the key belongs.
    func required<Value>(_ key: String, _ convert: (YamlNode, String) -> Value?) -> Value? {
        guard let child = value(key) else {
            decoder.report(node.mark, path(key), "required key missing")
            return nil
        }
        return convert(child, path(key))
    }

    func optional<Value>(_ key: String, default fallback: Value, _ convert: (YamlNode, String) -> Value?) -> Value? {
        guard let child = value(key) else { return fallback }
        return convert(child, path(key))
    }

    /// An optional sub-section: absent or `null` reads as an empty mapping, so its defaults apply.
    func section(_ key: String, keys: [String]) -> MappingReader? {
        guard let child = value(key), !child.isNull else {
            return MappingReader(
                decoder: decoder, node: YamlNode(.mapping([]), mark: node.mark), path: path(key), entries: [])
        }
        return decoder.mapping(child, path(key), keys: keys)
    }

    /// For keys whose value may be `null` (the default when absent too).
    func nullable<Value>(_ key: String, _ convert: (YamlNode, String) -> Value?) -> Value?? {
        guard let child = value(key), !child.isNull else { return .some(nil) }
        return convert(child, path(key)).map { .some($0) }
    }
}
