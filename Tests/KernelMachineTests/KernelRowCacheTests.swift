import Testing
import Arena
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

@Suite struct KernelRowCacheTests {
    init() { BLAS.configure(threads: 1) }

    func points(_ n: Int, _ d: Int, arena: ArenaAllocator) throws -> Matrix {
        var rng = TestRandom(seed: 3)
        let m = Matrix(try arena.allocateFloats(n * d), rows: n, columns: d)
        for i in 0..<m.count { m.base[i] = rng.uniform() - 0.5 }
        return m
    }

    /// Least recently used rows go first; hits refresh a row's place.
    @Test func evictionOrder() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        // 16 rows: slots of 64 bytes, so 3 slots take a whole number of the arena's 64-byte units
        // and a 4th would not fit.
        let x = try points(16, 3, arena: arena)
        let budget = KernelRowCache.footprint(rows: 16, slots: 3)
        let cache = try KernelRowCache(points: x, kernel: .gaussian(sigma: 1), byteBudget: budget, arena: arena)
        #expect(cache.slotCount == 3 && !cache.holdsAllRows)
        _ = cache.row(0); _ = cache.row(1); _ = cache.row(2)
        #expect(cache.cachedRows == [2, 1, 0])
        _ = cache.row(0)                          // hit: 0 becomes most recent
        #expect(cache.cachedRows == [0, 2, 1])
        _ = cache.row(3)                          // miss: evicts 1, the least recent
        #expect(cache.cachedRows == [3, 0, 2])
        #expect(!cache.isCached(1) && cache.isCached(2))
        _ = cache.row(4)                          // evicts 2
        #expect(cache.cachedRows == [4, 3, 0])
        #expect(cache.hits == 1 && cache.misses == 5)
    }

    /// Every row served, cached or recomputed after eviction, equals k(xᵢ, xⱼ) computed directly.
    @Test(arguments: [KernelFunction.linear, .polynomial(degree: 2), .gaussian(sigma: 0.7), .laplace(sigma: 0.9)])
    func rowsMatchDirect(kernel: KernelFunction) throws {
        let arena = try ArenaAllocator(capacity: 1 << 22)
        let n = 40, d = 33
        let x = try points(n, d, arena: arena)
        let small = try KernelRowCache(points: x, kernel: kernel, byteBudget: KernelRowCache.footprint(rows: n, slots: 4), arena: arena)
        let full = try KernelRowCache(points: x, kernel: kernel, byteBudget: 1 << 20, arena: arena)
        #expect(full.holdsAllRows && !small.holdsAllRows)
        for i in [0, 5, 39, 5, 17, 0, 22, 23, 24, 25, 0] {
            let a = small.row(i), b = full.row(i)
            for j in 0..<n {
                let direct = kernel(x.row(i), x.row(j), count: d)
                #expect(abs(a[j] - direct) <= 2e-5 * max(1, abs(direct)), "row \(i), column \(j)")
                #expect(abs(b[j] - direct) <= 2e-5 * max(1, abs(direct)), "full row \(i), column \(j)")
            }
            #expect(small.diagonal[i] == kernel(x.row(i), x.row(i), count: d) || kernel.usesDistance)
            #expect(a[i] == small.diagonal[i] && b[i] == full.diagonal[i])
        }
        #expect(small.misses > 4)
    }

    /// The cache allocates no more than its budget, and refuses a budget below two rows.
    @Test func budgetRespected() throws {
        let arena = try ArenaAllocator(capacity: 1 << 22)
        let n = 100
        let x = try points(n, 8, arena: arena)
        for budget in [2_500, 5_000, 9_999, 50_000, 1 << 21] {
            let mark = arena.mark()
            let before = arena.used
            let cache = try KernelRowCache(points: x, kernel: .linear, byteBudget: budget, arena: arena)
            #expect(arena.used - before <= budget, "budget \(budget)")
            #expect(cache.slotCount == KernelRowCache.slotCapacity(rows: n, budget: budget))
            #expect(cache.slotCount >= 2 && cache.slotCount <= n)
            for i in 0..<n { _ = cache.row(i) } // never needs more
            #expect(arena.used - before <= budget)
            arena.reset(to: mark)
        }
        #expect(throws: KernelMachineError.self) {
            try KernelRowCache(points: x, kernel: .linear, byteBudget: 1_000, arena: arena)
        }
    }
}
