import Foundation
import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import InferC
import MallocCounter

/// Exports a model, opens the file through the C interface in malloc'd memory (as C code would),
/// and checks that `infer_run` gives the Swift model's outputs for every row of `x`, with the
/// same predicted class, and makes no heap allocation.
func checkThroughC(_ model: some TrainedModel, prefix: [ModelStage] = [], raw: Matrix? = nil, on x: Matrix,
                   inputEncoding: ModelFormat.InputEncoding = .floats, tolerance: Float = 1e-4,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
    let inputs = raw?.columns ?? model.inputCount
    let description = ModelWriter.Description(inputShape: (1, 1, inputs), outputKind: model.outputKind, inputEncoding: inputEncoding)
    let bytes = try ModelWriter.encode(stages: prefix + model.stages, description: description)
    let file = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
    defer { file.deallocate() }
    file.copyBytes(from: bytes)
    var needed = 0
    try #require(infer_arena_size(file.baseAddress, bytes.count, &needed) == 0, "\(String(cString: infer_last_error()))", sourceLocation: sourceLocation)
    let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 16)
    defer { arena.deallocate() }
    var handle: OpaquePointer?
    try #require(infer_open(file.baseAddress, bytes.count, arena.baseAddress, needed, &handle) == 0, "\(String(cString: infer_last_error()))",
                 sourceLocation: sourceLocation)
    #expect(infer_output_len(handle) == model.outputCount, sourceLocation: sourceLocation)
    #expect(infer_output_kind(handle) == Int32(model.outputKind.rawValue), sourceLocation: sourceLocation)
    var fromC = [Float](repeating: 0, count: model.outputCount), fromSwift = fromC
    var worst: Float = 0, mallocs: UInt64 = 0, classMismatches = 0
    // One call first: a thread's first call may set up its thread-local error buffer.
    _ = infer_run(handle, raw?.row(0) ?? x.row(0), inputs, &fromC, fromC.count)
    for r in 0..<x.rows {
        let input = raw?.row(r) ?? x.row(r)
        malloc_counter_start()
        let status = infer_run(handle, input, inputs, &fromC, fromC.count)
        mallocs += malloc_counter_stop()
        #expect(status == 0, sourceLocation: sourceLocation)
        fromSwift.withUnsafeMutableBufferPointer { model.predict(x.row(r), into: $0.baseAddress!) }
        for j in 0..<fromC.count { worst = max(worst, abs(fromC[j] - fromSwift[j]) / max(1, abs(fromSwift[j]))) }
        if model.outputCount > 1,
           fromC.indices.max(by: { fromC[$0] < fromC[$1] || (fromC[$0] == fromC[$1] && $0 > $1) }) !=
           fromSwift.indices.max(by: { fromSwift[$0] < fromSwift[$1] || (fromSwift[$0] == fromSwift[$1] && $0 > $1) }) {
            classMismatches += 1
        }
    }
    #expect(worst <= tolerance, "\(type(of: model)): largest relative difference C vs Swift: \(worst)", sourceLocation: sourceLocation)
    #expect(classMismatches == 0, sourceLocation: sourceLocation)
    #expect(mallocs == 0, "infer_run allocated", sourceLocation: sourceLocation)
}
