/// A run that cannot go on: a process that did not start, a load with errors, an answer the bench
/// cannot read. Socket failures stay `SocketFailure`.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
