import Arena
import LowLevel

/// 2-D convolution (cross-correlation, as in every framework) over C×H×W samples: F filters of
/// C×a×b, stride, zero padding, bias. Implemented as im2col + GEMM: each sample's patches become
/// a (C·a·b) × (OH·OW) matrix, so the forward pass is W (F × C·a·b) times that matrix, and the
/// backward pass two more products. The patch matrices of a batch stay in the arena between the
/// forward and backward passes.
public final class Conv2D: Layer {
    public let geometry: ConvGeometry
    public let weight: Parameter
    public let bias: Parameter
    public let parameters: [Parameter]
    private let arena: ArenaAllocator
    /// maxBatch patch matrices, one after another.
    private let columns: UnsafeMutableBufferPointer<Float>
    /// One patch matrix of input gradients (backward).
    private let columnGradient: UnsafeMutableBufferPointer<Float>

    public var inputCount: Int { geometry.input.count }
    public var outputCount: Int { geometry.output.count }
    public var summary: String {
        "Conv2D(\(geometry.input)→\(geometry.output), \(geometry.kernelHeight)x\(geometry.kernelWidth)/\(geometry.strideY)x\(geometry.strideX))"
    }

    public init(geometry: ConvGeometry, name: String, initializer: WeightInitializer, rng: inout RandomGenerator,
                arena: ArenaAllocator, maxBatch: Int) throws(ArenaError) {
        self.geometry = geometry
        self.arena = arena
        let f = geometry.output.channels, k = geometry.patch
        weight = Parameter(name: "\(name).weight", shape: [f, geometry.input.channels, geometry.kernelHeight, geometry.kernelWidth],
                           value: try arena.allocateFloats(f * k), gradient: try arena.allocateFloats(f * k), decays: true)
        bias = Parameter(name: "\(name).bias", shape: [f], value: try arena.allocateFloats(f),
                         gradient: try arena.allocateFloats(f), decays: false)
        parameters = [weight, bias]
        columns = try arena.allocateFloats(maxBatch * k * geometry.positions)
        columnGradient = try arena.allocateFloats(k * geometry.positions)
        initializer.fill(weight.value, fanIn: k, fanOut: f * geometry.kernelHeight * geometry.kernelWidth, rng: &rng)
    }

    static func arenaBytes(geometry: ConvGeometry, maxBatch: Int) -> Int {
        let f = geometry.output.channels, k = geometry.patch, p = geometry.positions
        return 2 * ArenaAllocator.footprint(of: Float.self, count: f * k) + 2 * ArenaAllocator.footprint(of: Float.self, count: f)
            + ArenaAllocator.footprint(of: Float.self, count: maxBatch * k * p)
            + ArenaAllocator.footprint(of: Float.self, count: k * p)
    }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        let k = geometry.patch, p = geometry.positions, f = geometry.output.channels
        if x.rows == 1 {
            // One sample: the SIMD path the C runtime uses, so both give identical outputs. The
            // patch matrix still lands in `columns` for the backward pass.
            Self.forwardOne(x.base, geometry, weight: weight.value.baseAddress!, bias: bias.value.baseAddress!,
                            columns: columns.baseAddress!, into: y.base)
            return
        }
        for n in 0..<x.rows {
            let col = columns.baseAddress! + n * k * p
            Self.im2col(x.row(n), geometry, into: col)
            let out = y.row(n)
            for filter in 0..<f { Kernels.fill(out + filter * p, with: bias.value[filter], count: p) }
            Kernels.gemm(.none, .none, m: f, n: p, k: k, alpha: 1, a: weight.value.baseAddress!, lda: k,
                         b: col, ldb: p, beta: 1, c: out, ldc: p)
        }
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        let k = geometry.patch, p = geometry.positions, f = geometry.output.channels
        let dw = weight.gradient.baseAddress!, db = bias.gradient.baseAddress!
        Kernels.fill(db, with: 0, count: f)
        for n in 0..<dy.rows {
            let g = dy.row(n)
            // dW += dY_n · col_nᵀ
            Kernels.gemm(.none, .transposed, m: f, n: k, k: p, alpha: 1, a: g, lda: p,
                         b: columns.baseAddress! + n * k * p, ldb: p, beta: n == 0 ? 0 : 1, c: dw, ldc: k)
            for filter in 0..<f { db[filter] += Kernels.sum(g + filter * p, count: p) }
            if let dx {
                // dcol = Wᵀ · dY_n, then scattered back onto the input positions.
                Kernels.gemm(.transposed, .none, m: k, n: p, k: f, alpha: 1, a: weight.value.baseAddress!, lda: k,
                             b: g, ldb: p, beta: 0, c: columnGradient.baseAddress!, ldc: p)
                Self.col2im(columnGradient.baseAddress!, geometry, into: dx.row(n))
            }
        }
    }

    /// One sample without BLAS: im2col into `columns`, then each filter's output row is
    /// b + Σₖ W[f, k] · col[k, :], a vector-matrix product.
    static func forwardOne(_ x: UnsafePointer<Float>, _ g: ConvGeometry, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                           columns: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let k = g.patch, p = g.positions
        im2col(x, g, into: columns)
        for f in 0..<g.output.channels {
            let row = y + f * p
            Kernels.fill(row, with: bias[f], count: p)
            Kernels.vectorMatrix(weight + f * k, rows: k, matrix: columns, ld: p, columns: p, into: row, accumulate: true)
        }
    }

    /// Patch matrix of one sample: row (c, i, j), column (oy, ox) holds x[c, oy·sy − top + i, ox·sx − left + j],
    /// or 0 in the padding.
    static func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
        let h = g.input.height, w = g.input.width, oh = g.output.height, ow = g.output.width
        var row = 0
        for c in 0..<g.input.channels {
            let plane = x + c * h * w
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let out = col + row * oh * ow
                    for oy in 0..<oh {
                        let sy = oy * g.strideY - g.padTop + i
                        let line = out + oy * ow
                        if sy < 0 || sy >= h {
                            Kernels.fill(line, with: 0, count: ow)
                            continue
                        }
                        let source = plane + sy * w
                        for ox in 0..<ow {
                            let sx = ox * g.strideX - g.padLeft + j
                            line[ox] = sx >= 0 && sx < w ? source[sx] : 0
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// The adjoint of im2col: adds each patch entry back to the input position it came from.
    /// Overwrites `dx` (one sample).
    static func col2im(_ col: UnsafePointer<Float>, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>) {
        let h = g.input.height, w = g.input.width, oh = g.output.height, ow = g.output.width
        Kernels.fill(dx, with: 0, count: g.input.count)
        var row = 0
        for c in 0..<g.input.channels {
            let plane = dx + c * h * w
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let source = col + row * oh * ow
                    for oy in 0..<oh {
                        let sy = oy * g.strideY - g.padTop + i
                        guard sy >= 0 && sy < h else { continue }
                        let line = plane + sy * w
                        for ox in 0..<ow {
                            let sx = ox * g.strideX - g.padLeft + j
                            if sx >= 0 && sx < w { line[sx] += source[oy * ow + ox] }
                        }
                    }
                    row += 1
                }
            }
        }
    }
}
