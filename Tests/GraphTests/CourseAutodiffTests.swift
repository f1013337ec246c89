import Testing
import Glibc
@testable import Graph

/// The course's automatic-differentiation examples, written as graphs and differentiated by the
/// executor's reverse mode.
@Suite struct CourseAutodiffTests {
    /// y = ln(x1) + x1·x2 − sin(x2) at (2, 5): the notes' evaluation trace and its adjoints.
    @Test func seedTrace() throws {
        let g = GraphBuilder()
        let x1 = g.input("x1", shape: []), x2 = g.input("x2", shape: [])
        let v1 = try g.log(x1, name: "v1"), v2 = try g.mul(x1, x2, name: "v2"), v3 = try g.sin(x2, name: "v3")
        let v4 = try g.add(v1, v2, name: "v4")
        let y = try g.sub(v4, v3, name: "y")
        let graph = try g.build()
        let run = try makeExecutor(graph, PlanOptions(.training, maxBatch: 1, seeds: [y], gradients: [x1, x2], keep: [v1, v2, v3, v4]))
        run.view(of: x1)[0] = 2
        run.view(of: x2)[0] = 5
        run.forward(training: true)
        // Forward trace: v1 = ln 2, v2 = 10, v3 = sin 5, v4 = v1 + v2, y = v4 − v3.
        #expect(abs(run.view(of: v1)[0] - 0.693) < 5e-4)
        #expect(run.view(of: v2)[0] == 10)
        #expect(abs(run.view(of: v3)[0] - (-0.959)) < 5e-4)
        #expect(abs(run.view(of: v4)[0] - 10.693) < 5e-4)
        #expect(abs(run.view(of: y)[0] - 11.652) < 5e-4)
        run.backward(from: y)
        #expect(abs(run.gradient(of: x1)[0] - 5.5) < 5e-4)   // 1/x1 + x2
        #expect(abs(run.gradient(of: x2)[0] - 1.716) < 5e-4) // x1 − cos x2
    }

    /// The Jacobian of the element-wise square at (7, 3, 5) is diag(14, 6, 10): one backward pass
    /// per row, seeded with a unit vector.
    @Test func jacobianOfSquare() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [3])
        let y = try g.square(x)
        let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 1, seeds: [y], gradients: [x]))
        _ = run.view(of: x).update(fromContentsOf: [7, 3, 5] as [Float])
        run.forward(training: true)
        var jacobian: [[Float]] = []
        for i in 0..<3 {
            var seed: [Float] = [0, 0, 0]
            seed[i] = 1
            run.backward(from: y, gradient: seed)
            jacobian.append(Array(run.gradient(of: x)))
        }
        #expect(jacobian == [[14, 0, 0], [0, 6, 0], [0, 0, 10]])
    }

    /// z1 = sin x, z2 = x³, y = z1⁴·e^{z2} + 5·z1 + 7·z2, against the notes' closed form
    /// dy/dx = (4z1³e^{z2} + 5)cos x + (z1⁴e^{z2} + 7)·3x², at several x (x is read by two nodes).
    @Test(arguments: [-0.8, 0.3, 0.7, 1.1] as [Float])
    func compositeDerivative(x0: Float) throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [])
        let z1 = try g.sin(x, name: "z1")
        let z2 = try g.mul(try g.square(x), x, name: "z2")
        let first = try g.mul(try g.square(try g.square(z1)), try g.exp(z2))
        let y = try g.add(try g.add(first, try g.mul(try g.constant(5), z1)), try g.mul(try g.constant(7), z2), name: "y")
        let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 1, seeds: [y], gradients: [x]))
        run.view(of: x)[0] = x0
        run.forward(training: true)
        run.backward(from: y)
        let s = Double(x0).sinValue, e = Glibc.exp(Double(x0) * Double(x0) * Double(x0))
        let value = s * s * s * s * e + 5 * s + 7 * Double(x0) * Double(x0) * Double(x0)
        let derivative = (4 * s * s * s * e + 5) * Glibc.cos(Double(x0)) + (s * s * s * s * e + 7) * 3 * Double(x0) * Double(x0)
        #expect(abs(Double(run.view(of: y)[0]) - value) < 1e-5 * max(1, abs(value)))
        #expect(abs(Double(run.gradient(of: x)[0]) - derivative) < 1e-5 * max(1, abs(derivative)))
    }

    /// L(x, λ) = 2x + 9 − λ(x² − 2): gradient descent in x and ascent in λ on the graph's gradients
    /// find the saddle point x = −√2, λ = −1/√2, where L = 9 − 2√2.
    @Test func lagrangianSaddlePoint() throws {
        let g = GraphBuilder()
        let x = g.parameter("x", shape: []), lambda = g.parameter("lambda", shape: [])
        let constraint = try g.sub(try g.square(x), try g.constant(2))
        let objective = try g.add(try g.mul(try g.constant(2), x), try g.constant(9))
        let l = try g.sub(objective, try g.mul(lambda, constraint), name: "L")
        let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 1, seeds: [l]))
        run.view(of: x)[0] = -1
        run.view(of: lambda)[0] = -1
        let step: Float = 0.05
        for _ in 0..<2000 {
            run.forward(training: true)
            run.zeroParameterGradients()
            run.backward(from: l)
            run.view(of: x)[0] -= step * run.gradient(of: x)[0]           // descend in x
            run.view(of: lambda)[0] += step * run.gradient(of: lambda)[0] // ascend in λ
        }
        run.forward(training: true)
        #expect(abs(run.view(of: x)[0] - -Float(2).squareRoot()) < 1e-4)
        #expect(abs(run.view(of: lambda)[0] - -1 / Float(2).squareRoot()) < 1e-4)
        #expect(abs(run.view(of: l)[0] - (9 - 2 * Float(2).squareRoot())) < 1e-4)
    }
}

private extension Double {
    var sinValue: Double { Glibc.sin(self) }
}
