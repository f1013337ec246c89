import Arena
@_exported import TestSupport
import LowLevel
import Testing
import Graph

/// An executor in an arena of exactly the planned size, so a test also sees that the executor
/// takes no more than its plan.
/// OpenBLAS runs single-threaded in tests: suites run in parallel, and concurrent calls into a
/// multi-threaded OpenBLAS are not safe.
func makeExecutor(_ graph: Graph, _ options: PlanOptions) throws -> GraphExecutor {
    BLAS.configure(threads: 1)
    let bytes = try GraphExecutor.arenaBytes(graph: graph, options: options)
    let arena = try ArenaAllocator(capacity: bytes)
    return try GraphExecutor(graph: graph, options: options, arena: arena)
}

/// Central finite differences of Σ weights·y with respect to every element of `values`, against
/// the gradients `analytic` returns after the caller's backward. `objective` re-runs forward and
/// returns Σ weights·y in double precision.
func expectGradientsMatch(_ run: GraphExecutor, values: [ValueID], analytic: (ValueID) -> [Float],
                          objective: () -> Double, h: Float = 1e-2,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    for id in values {
        let elements = run.view(of: id)
        let expected = analytic(id)
        #expect(expected.count == elements.count, sourceLocation: sourceLocation)
        for j in elements.indices {
            let saved = elements[j]
            elements[j] = saved + h
            let plus = objective()
            elements[j] = saved - h
            let minus = objective()
            elements[j] = saved
            let numeric = (plus - minus) / Double(2 * h)
            let a = Double(expected[j])
            #expect(abs(a - numeric) <= 2e-3 + 1e-2 * max(abs(a), abs(numeric)),
                    "'\(run.graph.values[id.index].name)'[\(j)]: backward \(a), finite differences \(numeric)",
                    sourceLocation: sourceLocation)
        }
    }
}

/// Fills a value with uniform numbers in [low, high).
func fill(_ buffer: UnsafeMutableBufferPointer<Float>, _ random: inout SeededRandom, _ low: Float = -1, _ high: Float = 1) {
    for i in buffer.indices { buffer[i] = random.uniform(low, high) }
}
