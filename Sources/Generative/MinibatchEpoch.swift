import LowLevel
import Training

/// The epoch loop the flow and diffusion trainers share: for each batch, its loss (which leaves
/// the gradients), a stop at the first NaN or infinite loss, the step count, the optimiser's
/// update, and progress (batches done, of, running mean); with denormals flushed, as every
/// trainer here runs. The order of the batches is the caller's.
enum MinibatchEpoch {
    /// Returns the mean loss over `batches`.
    /// - Throws: `TrainingError.nonFinite` naming epoch `epoch` and the failing step.
    static func run(batches: Int, epoch: Int, steps: inout Int, loss: (Int) -> Float, update: (Int) -> Void,
                    progress: (Int, Int, Float) -> Void) throws(TrainingError) -> Float {
        try FloatingPointMode.withDenormalsFlushed { () throws(TrainingError) in
            var total: Float = 0
            for b in 0..<batches {
                let value = loss(b)
                guard value.isFinite else { throw .nonFinite(epoch: epoch, step: steps + 1, loss: value) }
                steps += 1
                update(steps)
                total += value
                progress(b + 1, batches, total / Float(b + 1))
            }
            return total / Float(batches)
        }
    }
}
