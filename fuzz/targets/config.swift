import Shared

/// The strict YAML config loader over libyaml, for both files: the first byte picks which.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    if data[0] & 1 == 0 {
        _ = try? ConfigLoader.loadApp(text: text, file: "fuzz.yaml")
    } else {
        _ = try? ConfigLoader.loadListener(text: text, file: "fuzz.yaml")
    }
    return 0
}
