import Foundation
import Shared

/// A real `rsyslogd` (Debian's rsyslog) as the site's log collector: its own config in a temp dir,
/// imtcp on a free loopback port (TLS through the gtls driver when `tls` is given), and an omfile
/// action whose template keeps each message's MSGID and structured data, one message a line.
/// Started with `-n -f conf -i pidfile`, killed by its PID.
public final class RsyslogServer: @unchecked Sendable {
    /// The server's certificate and key and the CA that signed it (PEM files).
    public struct TLSFiles: Sendable {
        public var caFile: String
        public var certFile: String
        public var keyFile: String
    }

    public let port: Int
    public let directory: URL
    public let tls: TLSFiles?
    public private(set) var pid: pid_t = 0
    public var receivedPath: String { directory.appendingPathComponent("received.log").path }
    public var logPath: String { directory.appendingPathComponent("rsyslogd.log").path }
    private var configPath: String { directory.appendingPathComponent("rsyslog.conf").path }

    /// Writes the config and starts the server; returns once its port accepts connections.
    public init(tls: Bool = false) throws {
        port = try FreePort.take()
        directory = try TempDirectory.make(prefix: "mimic-rsyslog")
        self.tls = tls ? try Self.makeCertificates(in: directory) : nil
        try config().write(toFile: configPath, atomically: true, encoding: .utf8)
        try start()
    }

    /// Starts rsyslogd on the same port and output file (after `kill`).
    public func start() throws {
        let pidFile = directory.appendingPathComponent("rsyslogd.pid").path
        try? FileManager.default.removeItem(atPath: pidFile)
        pid = try ChildProcess.spawn(
            executable: Self.executable(), arguments: ["-n", "-f", configPath, "-i", pidFile], logFile: logPath)
        let ready = try eventually(timeout: 10) {
            guard ChildProcess.isAlive(pid) else {
                throw TestSupportError(
                    "rsyslogd exited: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }
            return PosixSocket.accepts(PosixSocket.loopback(port: port), timeout: 0.5)
        }
        if !ready { throw TestSupportError("rsyslogd did not listen on 127.0.0.1:\(port) within 10 s") }
    }

    /// SIGKILL, as a crash of the collector would end it.
    public func kill() {
        ChildProcess.kill(pid)
        pid = 0
    }

    /// Every message written so far, in arrival order: its MSGID as `msgid` and the parameters of
    /// its `mimic@32473` structured-data element, unescaped.
    public func received() throws -> [[String: String]] {
        guard FileManager.default.fileExists(atPath: receivedPath) else { return [] }
        let text = try String(contentsOfFile: receivedPath, encoding: .utf8)
        return try text.split(separator: "\n").map { try Self.parse(String($0)) }
    }

    /// `MSGID [mimic@32473 name="value" …]`, as the template writes it.
    static func parse(_ line: String) throws -> [String: String] {
        let scalars = Array(line.unicodeScalars)
        guard let space = scalars.firstIndex(of: " ") else { throw TestSupportError("no MSGID in \(line)") }
        var fields = ["msgid": String(String.UnicodeScalarView(scalars[..<space]))]
        let prefix = Array(" [mimic@32473".unicodeScalars)
        guard Array(scalars[space...].prefix(prefix.count)) == prefix else {
            throw TestSupportError("no mimic@32473 element in \(line)")
        }
        var index = space + prefix.count
        while index < scalars.count, scalars[index] == " " {
            index += 1
            guard let equals = scalars[index...].firstIndex(of: "="), equals + 1 < scalars.count,
                scalars[equals + 1] == "\""
            else { throw TestSupportError("bad parameter in \(line)") }
            let name = String(String.UnicodeScalarView(scalars[index..<equals]))
            var value = String.UnicodeScalarView()
            index = equals + 2
            while index < scalars.count, scalars[index] != "\"" {
                if scalars[index] == "\\", index + 1 < scalars.count { index += 1 }
                value.append(scalars[index])
                index += 1
            }
            guard index < scalars.count else { throw TestSupportError("unterminated value in \(line)") }
            fields[name] = String(value)
            index += 1
        }
        guard index < scalars.count, scalars[index] == "]" else {
            throw TestSupportError("unterminated element in \(line)")
        }
        return fields
    }

    private func config() -> String {
        var text = """
            global(workDirectory="\(directory.path)")
            main_queue(queue.workerThreads="1")

            """
        if let tls {
            text += """
                global(
                  DefaultNetstreamDriver="gtls"
                  DefaultNetstreamDriverCAFile="\(tls.caFile)"
                  DefaultNetstreamDriverCertFile="\(tls.certFile)"
                  DefaultNetstreamDriverKeyFile="\(tls.keyFile)"
                )
                module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")

                """
        } else {
            text += "module(load=\"imtcp\")\n"
        }
        text += """
            input(type="imtcp" address="127.0.0.1" port="\(port)" ruleset="mimic")
            template(name="mimicEvents" type="string" string="%msgid% %structured-data%\\n")
            ruleset(name="mimic") {
              action(type="omfile" file="\(receivedPath)" template="mimicEvents")
            }

            """
        return text
    }

    /// A CA and a server certificate for 127.0.0.1 it signed, made with openssl.
    private static func makeCertificates(in directory: URL) throws -> TLSFiles {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let openssl = "/usr/bin/openssl"
        _ = try ChildProcess.run(
            executable: openssl,
            arguments: [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mimic test CA",
                "-keyout", path("ca-key.pem"), "-out", path("ca.pem"),
            ])
        _ = try ChildProcess.run(
            executable: openssl,
            arguments: [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", path("server-key.pem"),
                "-out", path("server.csr"),
            ])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("san.ext"), atomically: true, encoding: .utf8)
        _ = try ChildProcess.run(
            executable: openssl,
            arguments: [
                "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca-key.pem"),
                "-CAcreateserial", "-days", "2", "-extfile", path("san.ext"), "-out", path("server.pem"),
            ])
        return TLSFiles(caFile: path("ca.pem"), certFile: path("server.pem"), keyFile: path("server-key.pem"))
    }

    private static func executable() throws -> String {
        for candidate in ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSupportError("rsyslogd not found: run `make deps` (apt-get install rsyslog rsyslog-gnutls)")
    }

    deinit {
        ChildProcess.stop(pid)
        try? FileManager.default.removeItem(at: directory)
    }
}
