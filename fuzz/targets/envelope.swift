import Foundation
import Shared

/// The listener's per-envelope checks, in the order EnvelopeIntake runs them: shape check, JSON
/// decode, validation. Any crash, trap or hang here is a finding; errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard JSONShapeCheck.problem(bytes) == nil else { return 0 }
    // The table-free scan the listener tries first must answer as the general path or decline.
    if let scanned = EnvelopeScan.scan(bytes, maxDepth: JSONShapeCheck.maxDepth) {
        guard let general = FastJSON.parse(bytes, maxDepth: JSONShapeCheck.maxDepth).flatMap(Envelope.init(json:)),
            general.id == scanned.id, general.app == scanned.app, general.source == scanned.source,
            general.type == scanned.type, general.time == scanned.time
        else { fatalError("EnvelopeScan read an envelope the general path reads differently") }
        let scanBody = Result { () throws(EnvelopeError) in try Envelope.validated(scanned) }
        let generalBody = Result { () throws(EnvelopeError) in try general.validated() }
        guard scanBody == generalBody else {
            fatalError("EnvelopeScan validates differently: \(scanBody) vs \(generalBody)")
        }
    }
    guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)) else { return 0 }
    _ = try? envelope.validated()
    return 0
}
