/// YAML text of app configs for the fixtures, so every fixture describes a command-driver host the
/// same way and a change to the hook contract is one edit.
public enum AppConfigText {
    /// One entry of `hosts:` (two-space indent) for a command-driver host whose hooks are
    /// `create.sh`, `clean.sh`, `remove.sh` and `list.sh` in `hooksDir`; `probe` is a flow mapping
    /// such as `{ tcp: "127.0.0.1:9101", interval: 200ms }`.
    public static func commandHost(
        _ name: String, address: String = "127.0.0.1", hooksDir: String,
        timeout: String = "10s", probe: String? = nil
    ) -> String {
        var text = """
              - name: \(name)
                address: \(address)
                driver: command
                command:
                  timeout: \(timeout)
                  create: ["\(hooksDir)/create.sh", "{app}", "{executor}", "{variant}", "{host}"]
                  clean: ["\(hooksDir)/clean.sh", "{app}", "{executor}", "{variant}", "{host}"]
                  remove: ["\(hooksDir)/remove.sh", "{app}", "{executor}", "{host}"]
                  list: ["\(hooksDir)/list.sh", "{app}", "{host}"]

            """
        if let probe { text += "    probe: \(probe)\n" }
        return text
    }
}
