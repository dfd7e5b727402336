import ArgumentParser
import Foundation
import Shared

/// `mimicctl why <app> <executor>` (issue 18 item 5): the chain that put an executor in its state,
/// from the admin door (`GET /v1/apps/{app}/executors/{id}/why`), which asks the app's worker.
struct WhyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Show why an executor is in its state: the events that moved it, their messages, the policy memory.",
        discussion:
            "Newest last. With --json the worker's typed answer (ExecutorWhy): executor, events, searched, policy.")

    @Argument(help: "The app.")
    var app: String

    @Argument(help: "The executor id (mimicctl executors <app> lists them).")
    var executor: String

    @OptionGroup var config: ConfigOption
    @OptionGroup var listener: ListenerOptions
    @OptionGroup var format: FormatOption

    func validate() throws {
        guard AppName.isValid(app) else { throw ValidationError("'\(app)' is not a valid app name ([a-z0-9-]{1,32})") }
        guard ExecutorID.isValid(executor) else {
            throw ValidationError("'\(executor)' is not an executor id ([a-z0-9-]{1,48})")
        }
    }

    func run() async throws {
        let api = ListenerAPI(endpoint: try listener.adminURL(config))
        let why = try api.why(app: app, executor: executor, token: try listener.optionalToken(config, app: app))
        if format.json { return try Output.printJSON(Output.jsonObject(why) ?? [:]) }
        print(Self.chain(why).joined(separator: "\n"))
    }

    /// The human form: where it stands, then the events oldest first, then what the policy
    /// memory holds for it.
    static func chain(_ why: ExecutorWhy) -> [String] {
        let executor = why.executor
        var lines = [
            "\(why.app)/\(executor.id): \(executor.state.rawValue)\(executor.flagged ? " (flagged)" : "") since "
                + "\(Output.timestamp(milliseconds: executor.since)) (\(Output.age(sinceMilliseconds: executor.since)) ago)"
                + (executor.reason.isEmpty ? "" : ": \(executor.reason)"),
            "  variant \(executor.variant), host \(executor.host), endpoint \(executor.endpoint.isEmpty ? "-" : executor.endpoint)",
        ]
        lines.append("")
        if why.events.isEmpty {
            lines.append("No event names it among the newest \(why.searched) events of the stream.")
        } else {
            lines.append("Events (oldest first, \(why.events.count) found among the newest \(why.searched)):")
        }
        for event in why.events {
            var line = "  \(Output.timestamp(milliseconds: event.time))  "
            switch event.kind {
            case "transition": line += "\(event.from ?? "?") -> \(event.to ?? "?")"
            case "list": line += "list \(event.url ?? "")"
            default: line += event.kind
            }
            line += ": \(event.reason)  [cause \(event.cause)]"
            lines.append(line)
            if let message = event.message {
                let body = Output.jsonObject(message.body).flatMap {
                    try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes])
                }
                lines.append(
                    "      message \(message.id): \(message.source.rawValue) \(message.type.rawValue) "
                        + (body.map { String(decoding: $0, as: UTF8.self) } ?? ""))
            }
        }
        let policy = why.policy
        lines.append("")
        lines.append("Policy memory (window \(policy.windowMs) ms):")
        lines.append(
            "  dissents \(policy.dissents.count) of \(policy.dissentThreshold), degraded reports "
                + "\(policy.degraded.count) of \(policy.degradedThreshold), low-severity alerts "
                + "\(policy.lowAlerts.count) of \(policy.lowAlertThreshold)")
        lines.append(
            "  confidence \(String(format: "%.2f", policy.confidence)), variant \(policy.variant) trust "
                + String(format: "%.2f", policy.variantTrust)
                + (policy.learnedTrust.map { ", learned trust " + String(format: "%.2f", $0) } ?? " (learning off)"))
        for pattern in policy.patterns.prefix(5) {
            lines.append(
                "  learned on \(pattern.pattern): trust \(String(format: "%.2f", pattern.trust)) "
                    + "(\(String(format: "%.1f", pattern.agreements)) agreed, \(String(format: "%.1f", pattern.dissents)) dissented)"
            )
        }
        for dissent in policy.urlDissents {
            lines.append("  standing dissent on \(dissent.url) at \(Output.timestamp(milliseconds: dissent.time))")
        }
        for suspicion in policy.suspectedURLs {
            lines.append("  suspected URL \(suspicion.url): \(suspicion.reason)  [cause \(suspicion.cause)]")
        }
        return lines
    }
}
