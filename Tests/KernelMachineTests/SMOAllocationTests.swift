import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel
import MallocCounter

/// SMO's iterations take every buffer from the arena: the heap allocations of a solve do not grow
/// with the number of iterations, with the kernel matrix precomputed or rows computed on demand.
@Suite(.serialized) struct SMOAllocationTests {
    init() { BLAS.configure(threads: 1) }

    @Test(arguments: [1 << 12, 1 << 22]) func iterationsAllocateNothing(cacheBytes: Int) throws {
        let arena = try ArenaAllocator(capacity: 16 << 20)
        let set = try blobs(centres: [[0, 0], [1.5, 1], [0, 2]], perClass: 60, spread: 0.9, seed: 3, arena: arena)
        let y = try set.signs(positive: 0, arena: arena)
        func mallocs(iterations: Int) throws -> (UInt64, Int) {
            let mark = arena.mark()
            defer { arena.reset(to: mark) }
            let cache = try KernelRowCache(points: set.features, kernel: .gaussian(sigma: 1), byteBudget: cacheBytes, arena: arena)
            malloc_counter_start()
            let result = try SMOSolver.solve(labels: y.baseAddress!, cache: cache, C: 10, maxIterations: iterations, arena: arena)
            return (malloc_counter_stop(), result.iterations)
        }
        _ = try mallocs(iterations: 5) // warm-up
        let (few, fewIterations) = try mallocs(iterations: 5)
        let (many, manyIterations) = try mallocs(iterations: 2000)
        #expect(fewIterations == 5 && manyIterations > 50, "the long solve must run many more iterations")
        #expect(few == many, "\(few) allocations for 5 iterations, \(many) for \(manyIterations)")
    }
}
