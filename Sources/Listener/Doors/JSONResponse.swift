import Foundation
import Hummingbird
import NIOCore

/// The doors' JSON answers: one object per line, keys sorted, so curl output and tests read alike.
enum JSONResponse {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make(_ status: Int, _ value: some Encodable) -> Response {
        var buffer = ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data("{}".utf8))
        buffer.writeStaticString("\n")
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: buffer))
    }

    static func make(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var buffer = ByteBuffer(bytes: data)
        buffer.writeStaticString("\n")
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: buffer))
    }
}
