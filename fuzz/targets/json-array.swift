/// The listener's top-level array splitter (Sources/Listener/Ingress/JSONArraySplitter.swift) and
/// NDJSON line splitting as the TCP decoder does it: every range found must lie inside the input,
/// be non-empty and in order.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONArray(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = JSONArraySplitter.firstSignificantByte(bytes)
    if let ranges = JSONArraySplitter.elements(bytes) {
        var last = 0
        for range in ranges {
            precondition(
                range.lowerBound >= last && range.upperBound <= bytes.count, "element range out of order or bounds")
            precondition(!range.isEmpty, "empty element range")
            last = range.upperBound
        }
    }
    return 0
}
