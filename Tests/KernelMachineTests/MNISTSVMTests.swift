import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel
import MNIST

/// RBF SVMs by SMO (σ by the scale heuristic, ≈ 74.7) trained on the first 10k MNIST training
/// digits, tested on the 10k test digits. Needs MNIST_DIR.
///
/// Reference, scikit-learn 1.9.1 SVC(C=1, gamma='scale') on the same 10k digits, this machine:
/// fit 7.6 s, 3744 support vectors, 95.94% test accuracy. C = 1 therefore cannot meet the 96%
/// target with either implementation; C = 10 does (96.78% here). Serialized: the fit times are
/// measured.
@Suite(.serialized) struct MNISTSVMTests {
    // One OpenBLAS thread, as every suite uses: the setting is process-wide, and with more
    // threads OpenBLAS allocates in every large product, which the zero-allocation tests running
    // beside this suite would count. Benchmarks/classic.sh measures with 2 threads.
    init() { BLAS.configure(threads: 1) }

    func fit(C: Float) throws -> (KernelSVM.FitReport, accuracy: Double) {
        let data = try MNISTDataset(directory: mnistDirectory!)
        let arena = try ArenaAllocator(capacity: 512 << 20)
        let train = try SampleSet(images: data.train, limit: 10_000, arena: arena)
        let test = try SampleSet(images: data.test, arena: arena)
        let model = try KernelSVM.fit(train, kernel: .gaussian(), C: C, arena: arena)
        let accuracy = try model.accuracy(on: test, arena: arena)
        let r = model.report
        print("MNIST 10k RBF SVM C=\(C): \(r.kernel), fit \(r.seconds) s, \(r.supportVectors) support vectors, "
              + "\(r.iterations) SMO iterations, test accuracy \(accuracy), "
              + "arena high-water \(arena.highWaterMark >> 20) MiB")
        return (r, accuracy)
    }

    /// The target: ≥ 96% test accuracy.
    @Test(.enabled(if: mnistDirectory != nil, "set MNIST_DIR to run the full-MNIST SVM test"))
    func rbfReachesNinetySixPercent() throws {
        let (report, accuracy) = try fit(C: 10)
        #expect(report.converged)
        #expect(accuracy >= 0.96)
    }

    /// scikit-learn's defaults solve the same dual, so the same support vectors and accuracy
    /// come out (up to the stopping tolerance). Fit time against scikit-learn is measured in
    /// Benchmarks/classic.sh, not here: timed unit tests fail on a busy machine.
    @Test(.enabled(if: mnistDirectory != nil, "set MNIST_DIR to run the full-MNIST SVM test"))
    func matchesScikitLearnDefaults() throws {
        let (report, accuracy) = try fit(C: 1)
        #expect(report.converged)
        #expect(abs(report.supportVectors - 3744) <= 40)
        #expect(abs(accuracy - 0.9594) <= 0.002)
    }
}
