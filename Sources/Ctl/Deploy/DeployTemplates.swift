import Foundation
import Mustache

/// A directory of `<name>.mustache` templates that `mimicctl compose` and `mimicctl kube` render.
/// A template that is missing or does not parse is a usage error naming its file, found before
/// anything is written, so a half-rendered deploy directory never replaces a working one.
struct DeployTemplates {
    let directory: String
    private let library: MustacheLibrary

    /// `flag` and `origin` name the option and the repository directory in the error, so the
    /// operator learns which path was looked up and how to point elsewhere.
    static func load(directory: String, required: [String], flag: String, origin: String) async throws
        -> DeployTemplates
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CtlFailure.usage(
                "\(flag) \(directory): no such directory (the repository's \(origin), or pass \(flag))")
        }
        let library: MustacheLibrary
        do {
            library = try await MustacheLibrary(directory: directory)
        } catch let error as MustacheLibrary.ParserError {
            throw CtlFailure.usage(
                "\(directory)/\(error.filename):\(error.context.lineNumber):\(error.context.columnNumber): \(error.error)"
            )
        }
        for name in required where library.getTemplate(named: name) == nil {
            throw CtlFailure.usage("\(directory)/\(name).mustache: missing")
        }
        return DeployTemplates(directory: directory, library: library)
    }

    func render(_ template: String, _ context: [String: Any]) throws -> String {
        guard let text = library.render(context, withTemplate: template) else {
            throw CtlFailure.usage("\(directory)/\(template).mustache: missing")
        }
        return text
    }
}
