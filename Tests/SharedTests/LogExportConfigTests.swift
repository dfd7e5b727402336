import Testing

@testable import Shared

/// `log_export` (issue 18 item 2): what loads, and every mistake refused at its file:line:col
/// with its key path, as the rest of the app file.
@Suite struct LogExportConfigTests {
    static let file = "/etc/mimic/apps.d/blog.yaml"

    /// `minimalApp` with `log_export` appended (it is the file's last line: line 8).
    static func app(_ logExport: String) -> String {
        ConfigFixtures.minimalApp + "\nlog_export: " + logExport + "\n"
    }

    func issues(_ logExport: String) -> [String] {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.loadApp(text: Self.app(logExport), file: Self.file)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func absentOrNullMeansNoExport() throws {
        let absent = try ConfigLoader.loadApp(text: ConfigFixtures.minimalApp, file: Self.file)
        #expect(absent.logExport == nil)
        let null = try ConfigLoader.loadApp(text: Self.app("null"), file: Self.file)
        #expect(null.logExport == nil)
    }

    @Test func aTCPTargetTakesTheDefaults() throws {
        let config = try ConfigLoader.loadApp(text: Self.app(#"{ syslog: "tcp://127.0.0.1:6514" }"#), file: Self.file)
        #expect(
            config.logExport
                == LogExportSettings(syslog: SyslogTarget(host: "127.0.0.1", port: 6514, usesTLS: false)))
        #expect(config.logExport?.facility == .local0)
        #expect(config.logExport?.facility.code == 16)
    }

    @Test func aTLSTargetWithoutATLSSectionTrustsTheSystemStore() throws {
        let config = try ConfigLoader.loadApp(text: Self.app(#"{ syslog: "tls://[::1]:6514" }"#), file: Self.file)
        #expect(config.logExport?.syslog == SyslogTarget(host: "::1", port: 6514, usesTLS: true))
        #expect(config.logExport?.syslog.description == "tls://[::1]:6514")
        #expect(config.logExport?.tls == SyslogTLS())
    }

    @Test func tlsFilesAreResolvedAgainstTheConfigFile() throws {
        let config = try ConfigLoader.loadApp(
            text: Self.app(
                #"{ syslog: "tls://logs:6514", tls: { ca_file: ../pki/ca.pem, cert_file: c.pem, key_file: /k.pem } }"#),
            file: Self.file)
        #expect(
            config.logExport?.tls
                == SyslogTLS(caFile: "/etc/mimic/pki/ca.pem", certFile: "/etc/mimic/apps.d/c.pem", keyFile: "/k.pem"))
    }

    @Test(arguments: [
        ("127.0.0.1:6514", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("udp://127.0.0.1:514", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("tcp://127.0.0.1", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("tcp://127.0.0.1:0", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("tcp://127.0.0.1:65536", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("tcp://:6514", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("tcp://::1:6514", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
        ("tcp://h:6514/x", "log_export.syslog: expected tcp://host:port or tls://host:port", 23),
    ])
    func aBadTargetIsNamed(target: String, message: String, column: Int) {
        #expect(issues(#"{ syslog: "\#(target)" }"#) == ["\(Self.file):8:\(column): \(message)"])
    }

    @Test func missingSyslogIsNamedAtTheSection() {
        #expect(issues("{ facility: local0 }") == ["\(Self.file):8:13: log_export.syslog: required key missing"])
    }

    @Test func unknownKeysAndWrongValuesAreEachNamed() {
        let found = issues(#"{ syslog: "tcp://h:1", facility: kern, hostname: "a b", port: 1 }"#)
        #expect(found.count == 3, "\(found)")
        #expect(found.contains { $0.hasPrefix("\(Self.file):8:") && $0.contains("log_export.port: unknown key") })
        #expect(found.contains { $0.contains("log_export.facility: expected one of: user, daemon") })
        #expect(found.contains { $0.contains("log_export.hostname: expected 1 to 255 printable ASCII") })
    }

    @Test func tlsSettingsNeedATLSTarget() {
        #expect(
            issues(#"{ syslog: "tcp://h:1", tls: { ca_file: ca.pem } }"#) == [
                "\(Self.file):8:41: log_export.tls: only allowed with a tls:// syslog target"
            ])
    }

    @Test func aClientCertificateNeedsItsKey() {
        #expect(
            issues(#"{ syslog: "tls://h:1", tls: { cert_file: c.pem } }"#) == [
                "\(Self.file):8:41: log_export.tls.key_file: required key missing (cert_file and key_file go together)"
            ])
        #expect(
            issues(#"{ syslog: "tls://h:1", tls: { key_file: k.pem, server_name: "" } }"#).sorted()
                == [
                    "\(Self.file):8:41: log_export.tls.cert_file: required key missing (cert_file and key_file go together)",
                    "\(Self.file):8:73: log_export.tls.server_name: must not be empty",
                ].sorted())
    }

    @Test func aListIsNotASection() {
        #expect(issues("[tcp://h:1]") == ["\(Self.file):8:13: log_export: expected a mapping"])
    }
}
