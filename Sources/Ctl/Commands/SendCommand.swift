import ArgumentParser
import Foundation
import Shared

/// `mimicctl send`: injects one message (or a JSON array of envelopes from stdin) through the
/// listener's HTTP ingress, exactly as a bracket or the WAF would, and prints the listener's answer.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one message to the listener (from flags, or an envelope / array of envelopes on stdin).",
        discussion: """
            From flags: mimicctl send --app shop --source admin --type rotate
                        mimicctl send --app shop --source admin --type set_state --body '{"executor":"e1","state":"offline"}'
            From stdin (no --source/--type): echo '{"id":"x1","app":"shop","source":"admin","type":"pause","body":{}}' | mimicctl send
            Envelopes are checked locally first (DESIGN section 4), so a malformed one exits 2 without being sent.
            """)

    @Option(help: "The app the message is for.") var app: String?
    @Option(help: ArgumentHelp("left_bracket, right_bracket, waf, firewall or admin.", valueName: "source")) var source:
        String?
    @Option(
        help: ArgumentHelp("health, arbitration, alert, list, set_state, rotate, pause or resume.", valueName: "type"))
    var type: String?
    @Option(help: ArgumentHelp("The message body as a JSON object.", valueName: "json")) var body: String = "{}"
    @Option(help: ArgumentHelp("Message id, unique per app and source (default: generated).", valueName: "id")) var id:
        String?

    @OptionGroup var config: ConfigOption
    @OptionGroup var listener: ListenerOptions
    @OptionGroup var format: FormatOption

    func run() async throws {
        let payload = try (source == nil && type == nil) ? fromStdin() : fromFlags()
        let token = try listener.resolveToken(config, for: "send")
        let api = ListenerAPI(endpoint: try listener.ingressURL(config))
        let (status, answer) = try api.send(payload, token: token)
        if format.json {
            try Output.printJSON(["status": status, "answer": answer])
        } else if status == 202 {
            print("accepted \((answer["accepted"] as? NSNumber)?.intValue ?? 0)")
        }
        guard status == 202 else {
            var reason = "\(status) \(answer["error"] as? String ?? "no error text")"
            if let index = (answer["index"] as? NSNumber)?.intValue { reason += " (envelope #\(index))" }
            throw CtlFailure.runtime("listener refused the message: \(reason)")
        }
    }

    private func fromFlags() throws -> [UInt8] {
        guard let source, let type else {
            throw CtlFailure.usage("give both --source and --type, or neither and an envelope on stdin")
        }
        guard Source(rawValue: source) != nil else {
            throw CtlFailure.usage(
                "--source \(source): expected one of \(Source.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard MessageType(rawValue: type) != nil else {
            throw CtlFailure.usage(
                "--type \(type): expected one of \(MessageType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let bodyObject = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw CtlFailure.usage("--body: expected a JSON object, got \(body.prefix(80))")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var envelope: [String: Any] = ["source": source, "type": type, "body": bodyObject]
        envelope["id"] = id ?? Self.generatedID()
        envelope["time"] = Output.timestamp(milliseconds: now)
        if let app { envelope["app"] = app }
        let data = try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])
        try Self.check(data, label: "message")
        return Array(data)
    }

    private func fromStdin() throws -> [UInt8] {
        if app != nil || id != nil || body != "{}" {
            throw CtlFailure.usage(
                "--app, --id and --body build a message with --source and --type; without those the envelope comes from stdin"
            )
        }
        guard isatty(STDIN_FILENO) == 0 else {
            throw CtlFailure.usage(
                "no message: give --source and --type (and --app, --body), or pipe an envelope on stdin")
        }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let parsed = try? JSONSerialization.jsonObject(with: data) else {
            throw CtlFailure.usage("stdin: not JSON; expected an envelope object or an array of them")
        }
        if let array = parsed as? [Any] {
            guard !array.isEmpty else { throw CtlFailure.usage("stdin: empty array; send at least one envelope") }
            for (index, element) in array.enumerated() {
                try Self.check(try JSONSerialization.data(withJSONObject: element), label: "stdin envelope #\(index)")
            }
        } else {
            try Self.check(data, label: "stdin envelope")
        }
        // The listener gets the bytes as written: fields mimicctl does not know pass through.
        return Array(data)
    }

    /// The listener's own validation (DESIGN section 4), run before sending.
    private static func check(_ data: Data, label: String) throws {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw CtlFailure.usage("\(label): \(key.stringValue): required")
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw CtlFailure.usage("\(label): \(path.isEmpty ? "" : path + ": ")\(context.debugDescription)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw CtlFailure.usage(
                "\(label): \(context.codingPath.map(\.stringValue).joined(separator: ".")): wrong type")
        } catch {
            throw CtlFailure.usage("\(label): not an envelope: \(error)")
        }
        do throws(EnvelopeError) {
            _ = try envelope.validated()
        } catch {
            throw CtlFailure.usage("\(label): \(error.message)")
        }
    }

    /// Unique enough per (app, source) for hand-sent messages; a retry with --id reuses one on purpose.
    private static func generatedID() -> String {
        "mimicctl-\(Int64(Date().timeIntervalSince1970 * 1000))-\(UInt32.random(in: 0...UInt32.max))"
    }
}
