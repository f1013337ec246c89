import Arena
import COpenBLAS
import Classic
import Infer
import Training
import ModelFile
import LowLevel

/// Kernel ridge regression: with w = Xᵀv in feature space (the representer theorem), minimising
/// (1/n)‖y − Kv‖² + λ vᵀKv gives v = (K + nλI)⁻¹ y, and f(x) = Σᵢ vᵢ k(x, xᵢ).
///
/// The system is solved by Cholesky factorisation (LAPACK `dpotrf`/`dpotrs`) in Double. Every
/// training sample is kept: the stages are `.kernel` over the training points then `.dense` with
/// v as an [n, 1] weight and bias 0 (`outputKind` `.values`).
public struct KernelRidge: TrainedModel {
    public let lambda: Float
    /// v and the training points.
    public let expansion: KernelExpansion

    public var kernel: KernelFunction { expansion.kernel }
    /// v, one weight per training sample.
    public var weights: UnsafeMutableBufferPointer<Float> { expansion.coefficients.buffer }
    public var inputCount: Int { expansion.inputCount }
    public var outputCount: Int { 1 }
    public var outputKind: ModelFormat.OutputKind { .values }

    /// Fits on a regression set.
    /// - Parameters:
    ///   - lambda: λ ≥ 0. λ = 0 interpolates the targets and needs K itself positive definite.
    /// - Throws: `.notPositiveDefinite` when K + nλI is not (duplicate samples with λ = 0, or a
    ///   linear or polynomial kernel of too low rank); `.invalidParameter`, `.invalidKernel`,
    ///   `.arena`. The arena keeps a copy of the training points and v; the n × n matrices
    ///   (4n² + 8n² bytes) are scratch.
    /// The arena bytes `fit` takes: the points, v and the expansion are kept; the n × n systems
    /// are released on return.
    public static func arenaBytes(for set: SampleSet) -> FitArenaBytes {
        let n = set.count, d = set.featureCount
        let kept = ArenaAllocator.footprint(of: Float.self, count: n * d) + ArenaAllocator.footprint(of: Float.self, count: n)
            + KernelExpansion.arenaBytes(points: n)
        let scratch = ArenaAllocator.footprint(of: Float.self, count: n * n) + ArenaAllocator.footprint(of: Double.self, count: n * n)
            + ArenaAllocator.footprint(of: Double.self, count: n) + ArenaAllocator.footprint(of: Float.self, count: n)
        return FitArenaBytes(peak: kept + scratch, kept: kept)
    }

    public func predictionArenaBytes(rows: Int) -> Int { KernelExpansion.evaluationArenaBytes(rows: rows, points: expansion.points.rows) }

    public static func fit(_ set: SampleSet, kernel spec: KernelSpec = .gaussian(), lambda: Float = 1e-3,
                           arena: ArenaAllocator) throws(KernelMachineError) -> KernelRidge {
        guard !set.isClassification, set.count > 0, set.featureCount > 0 else {
            throw .invalidParameter("kernel ridge regression needs a non-empty regression set")
        }
        guard lambda >= 0, lambda.isFinite else { throw .invalidParameter("lambda must be ≥ 0, not \(lambda)") }
        let kernel = try spec.resolved(for: set.features)
        let n = set.count, d = set.featureCount
        let expansion: KernelExpansion
        do {
            let points = try arena.allocate(Float.self, count: n * d)
            points.baseAddress!.update(from: set.features.base, count: n * d)
            let v = try arena.allocateFloats(n)
            expansion = try KernelExpansion(kernel: kernel, points: Matrix(points, rows: n, columns: d),
                                            coefficients: Matrix(v, rows: n, columns: 1), bias: [0], arena: arena)
        } catch { throw .arena(error) }

        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let gram: UnsafeMutableBufferPointer<Float>, a: UnsafeMutableBufferPointer<Double>
        let b: UnsafeMutableBufferPointer<Double>, norms: UnsafeMutableBufferPointer<Float>
        do {
            gram = try arena.allocate(Float.self, count: n * n)
            a = try arena.allocate(Double.self, count: n * n)
            b = try arena.allocate(Double.self, count: n)
            norms = try arena.allocate(Float.self, count: n)
        } catch { throw .arena(error) }
        let x = expansion.points
        KernelBlock.squaredNorms(x, into: norms.baseAddress!)
        KernelBlock.compute(kernel, a: x, aNorms: norms.baseAddress!, b: x, bNorms: norms.baseAddress!,
                            into: gram.baseAddress!, ldc: n)
        let ridge = Double(n) * Double(lambda)
        for i in 0..<n {
            for j in 0..<n { a[i * n + j] = Double(gram[i * n + j]) }
            a[i * n + i] = Double(kernel.value(dot: norms[i], squaredDistance: 0)) + ridge
            b[i] = Double(set.targets[i])
        }
        // A is symmetric, so its row-major layout is also the column-major one LAPACK reads.
        var order = Int32(n), one: Int32 = 1, info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "L"))
        dpotrf_(&uplo, &order, a.baseAddress!, &order, &info)
        if info > 0 { throw .notPositiveDefinite(order: n, minor: Int(info)) }
        precondition(info == 0, "dpotrf argument \(-info) invalid")
        dpotrs_(&uplo, &order, &one, a.baseAddress!, &order, b.baseAddress!, &order, &info)
        precondition(info == 0, "dpotrs argument \(-info) invalid")
        let v = expansion.coefficients.base
        for i in 0..<n { v[i] = Float(b[i]) }
        return KernelRidge(lambda: lambda, expansion: expansion)
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        expansion.evaluate(input, into: output)
    }

    public func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        try expansion.evaluate(x, into: output, arena: arena)
    }

    public var stages: [ModelStage] { expansion.stages }
}
