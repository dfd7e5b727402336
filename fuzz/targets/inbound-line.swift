import Foundation
import Shared

/// The worker's app-socket line parser (Sources/AppWorker/Socket/InboundLine.swift, compiled in).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInboundLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    switch InboundLine.parse(bytes) {
    case .frame(let frame): precondition(frame.seq >= 1, "a parsed frame has seq >= 1")
    case .op, .malformed: break
    }
    return 0
}
