import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// f(x) = Σᵢ k(x, pᵢ)·cᵢ + b for stored points pᵢ and coefficient rows cᵢ (m outputs): what every
/// kernel machine here predicts with, and exactly what the runtime's `.kernel` then `.dense`
/// stages compute.
///
/// The points, their norms, the coefficients and one-input scratch live in an arena; the single
/// input `evaluate` uses that scratch, so one expansion must not evaluate on two threads at once.
public struct KernelExpansion {
    public let kernel: KernelFunction
    /// pᵢ, n × d.
    public let points: Matrix
    /// cᵢ, n × m.
    public let coefficients: Matrix
    public let bias: [Float]
    private let norms: UnsafeMutableBufferPointer<Float>
    private let scratch: UnsafeMutableBufferPointer<Float>

    /// Arena bytes `init` takes for `points` rows (kept).
    public static func arenaBytes(points: Int) -> Int { 2 * ArenaAllocator.footprint(of: Float.self, count: points) }

    /// Arena bytes `evaluate(_:into:arena:)` takes for `rows` rows over `points` points (released).
    public static func evaluationArenaBytes(rows: Int, points n: Int) -> Int {
        let chunk = min(256, max(rows, 1))
        return ArenaAllocator.footprint(of: Float.self, count: chunk * n) + ArenaAllocator.footprint(of: Float.self, count: chunk)
    }

    /// Wraps `points` and `coefficients` (not copied: they must outlive the expansion) and
    /// allocates the norms and scratch from `arena`.
    /// - Precondition: equal row counts, n ≥ 1, `bias.count == coefficients.columns`.
    public init(kernel: KernelFunction, points: Matrix, coefficients: Matrix, bias: [Float],
                arena: ArenaAllocator) throws(ArenaError) {
        precondition(points.rows == coefficients.rows && points.rows > 0 && bias.count == coefficients.columns)
        self.kernel = kernel
        self.points = points
        self.coefficients = coefficients
        self.bias = bias
        norms = try arena.allocate(Float.self, count: points.rows)
        scratch = try arena.allocate(Float.self, count: points.rows)
        KernelBlock.squaredNorms(points, into: norms.baseAddress!)
    }

    public var inputCount: Int { points.columns }
    public var outputCount: Int { coefficients.columns }

    /// f(x) for one input of `inputCount` floats into `outputCount` floats.
    public func evaluate(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let n = points.rows, m = outputCount
        var norm = Kernels.sumOfSquares(input, count: points.columns)
        withUnsafePointer(to: &norm) { normPointer in
            KernelBlock.compute(kernel, a: Matrix(base: UnsafeMutablePointer(mutating: input), rows: 1, columns: points.columns),
                                aNorms: normPointer, b: points, bNorms: norms.baseAddress!,
                                into: scratch.baseAddress!, ldc: n)
        }
        for o in 0..<m { output[o] = bias[o] }
        Kernels.gemm(.none, .none, m: 1, n: m, k: n, alpha: 1, a: scratch.baseAddress!, lda: n,
                     b: coefficients.base, ldb: m, beta: 1, c: output, ldc: m)
    }

    /// f for every row of `x` into the rows of `output`: up to 256 rows at a time, kernel values
    /// by one matrix product and outputs by another. Scratch from `arena`, released on return.
    public func evaluate(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        precondition(x.columns == inputCount && output.columns == outputCount && output.rows >= x.rows)
        let n = points.rows, m = outputCount, chunk = min(256, max(x.rows, 1))
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let values = try arena.allocate(Float.self, count: chunk * n)
        let rowNorms = try arena.allocate(Float.self, count: chunk)
        var r0 = 0
        while r0 < x.rows {
            let rows = min(chunk, x.rows - r0)
            let block = Matrix(base: x.row(r0), rows: rows, columns: x.columns)
            KernelBlock.squaredNorms(block, into: rowNorms.baseAddress!)
            KernelBlock.compute(kernel, a: block, aNorms: rowNorms.baseAddress!, b: points,
                                bNorms: norms.baseAddress!, into: values.baseAddress!, ldc: n)
            for r in 0..<rows { for o in 0..<m { output[r0 + r, o] = bias[o] } }
            Kernels.gemm(.none, .none, m: rows, n: m, k: n, alpha: 1, a: values.baseAddress!, lda: n,
                         b: coefficients.base, ldb: m, beta: 1, c: output.row(r0), ldc: output.columns)
            r0 += rows
        }
    }

    /// The runtime stages computing f: `.kernel` over the points, then `.dense` with the
    /// coefficients as the [n, m] weight.
    public var stages: [ModelStage] {
        [.kernel(kernel, points: Array(points.buffer), count: points.rows, dimension: points.columns),
         .dense(weight: Array(coefficients.buffer), bias: bias, inputs: points.rows, outputs: outputCount)]
    }
}
