import Foundation
import Shared

/// The listener's per-envelope checks, in the order EnvelopeIntake runs them: shape check, JSON
/// decode, validation. Any crash, trap or hang here is a finding; errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard JSONShapeCheck.problem(bytes) == nil else { return 0 }
    guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)) else { return 0 }
    _ = try? envelope.validated()
    return 0
}
