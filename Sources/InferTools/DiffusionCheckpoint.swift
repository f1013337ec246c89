import Foundation
import Generative
import LowLevel
import ModelFile

/// A diffusion training checkpoint: the configuration, the training set's size, the epoch and
/// step counts, the trainer's generator state (shuffling, timesteps and noise), and every tensor
/// training changes (`DiffusionTrainer.namedTensors`: the U-Net's parameters and their Adam
/// moments), so `train --model diffusion --resume` ends with exactly the weights of an
/// uninterrupted run.
public struct DiffusionCheckpoint: JSONHeaderCheckpoint {
    public struct Header: CheckpointHeader {
        /// "diffusion", so the other checkpoints' readers and this one tell each other apart.
        public var model: String
        public var diffusion: DiffusionConfig
        public var trainingCount: Int
        public var epoch: Int
        public var steps: Int
        /// xoshiro256** state words in hex.
        public var rngState: [String]
        public var tensors: [Checkpoint.TensorEntry]
    }

    public var header: Header
    public var tensors: [String: [Float]]

    public init(trainer: DiffusionTrainer) {
        let (entries, tensors) = Checkpoint.snapshot(trainer.namedTensors)
        header = Header(model: "diffusion", diffusion: trainer.config, trainingCount: trainer.trainingCount, epoch: trainer.epochs,
                        steps: trainer.steps, rngState: Checkpoint.hex(trainer.random), tensors: entries)
        self.tensors = tensors
    }

    public init(decoding bytes: [UInt8], path: String = "checkpoint") throws(CheckpointError) {
        let (header, tensors): (Header, [String: [Float]]) = try Checkpoint.decode(bytes, path: path, model: "diffusion", kind: "a diffusion model")
        if let problem = header.diffusion.problem { throw CheckpointError("\(path): the checkpoint's diffusion model cannot be trained: \(problem)") }
        (self.header, self.tensors) = (header, tensors)
    }

    /// Copies tensors, counters and the generator state into `trainer`, which must have been made
    /// with the checkpoint's configuration and training-set size.
    public func restore(into trainer: DiffusionTrainer) throws(CheckpointError) {
        guard header.diffusion == trainer.config else { throw CheckpointError("the checkpoint's diffusion configuration differs from the one being trained") }
        guard header.trainingCount == trainer.trainingCount else {
            throw CheckpointError("the checkpoint was trained on \(header.trainingCount) digits, not \(trainer.trainingCount)")
        }
        guard let random = Checkpoint.generator(hex: header.rngState) else { throw CheckpointError("the checkpoint's random generator state is invalid") }
        try restoreTensors(into: trainer.namedTensors)
        trainer.resume(epochs: header.epoch, steps: header.steps)
        trainer.random = random
    }
}
