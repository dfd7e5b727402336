import Foundation

/// Where the situational-awareness page's static files are: `Sources/Listener/Page` in the repo,
/// copied by SwiftPM into the `mimic-scheduler_Listener.resources` bundle next to the
/// `mimic-listener` binary (the Dockerfile copies that folder beside the binary too).
/// Looked up by hand because SwiftPM's `Bundle.module` stops the process when the bundle is missing;
/// a missing page should cost the page, not the listener's ingress.
enum SituationPageFiles {
    static let bundleName = "mimic-scheduler_Listener.resources"

    static var directory: String {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent()
            .appendingPathComponent(bundleName).appendingPathComponent("Page").path
    }

    static var isPresent: Bool {
        FileManager.default.fileExists(atPath: directory + "/index.html")
    }
}
