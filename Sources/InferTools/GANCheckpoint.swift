import Foundation
import Generative
import LowLevel
import ModelFile

/// A GAN training checkpoint: the configuration, the training set's size, the epoch and update
/// counts, the shuffling and dropout generators' states, and every tensor training changes
/// (`GANTrainer.namedTensors`): what `train --model gan --resume` needs to end with exactly the
/// weights of an uninterrupted run. The file layout is `Checkpoint`'s, with this header as its JSON.
public struct GANCheckpoint: JSONHeaderCheckpoint {
    public struct Header: CheckpointHeader {
        /// "gan", so the other checkpoints' readers and this one tell each other apart.
        public var model: String
        public var gan: GANConfig
        public var trainingCount: Int
        public var epoch: Int
        public var generatorSteps: Int
        public var discriminatorUpdates: Int
        /// xoshiro256** state words in hex.
        public var rngState: [String]
        public var dropoutRngState: [String]?
        public var tensors: [Checkpoint.TensorEntry]
    }

    public var header: Header
    public var tensors: [String: [Float]]

    public init(trainer: GANTrainer) {
        let (entries, tensors) = Checkpoint.snapshot(trainer.namedTensors)
        header = Header(model: "gan", gan: trainer.config, trainingCount: trainer.trainingCount, epoch: trainer.epochs,
                        generatorSteps: trainer.generatorSteps, discriminatorUpdates: trainer.discriminatorUpdates,
                        rngState: Checkpoint.hex(trainer.random),
                        dropoutRngState: trainer.dropoutState.map(Checkpoint.hex), tensors: entries)
        self.tensors = tensors
    }

    public init(decoding bytes: [UInt8], path: String = "checkpoint") throws(CheckpointError) {
        let (header, tensors): (Header, [String: [Float]]) = try Checkpoint.decode(bytes, path: path, model: "gan", kind: "a GAN")
        if let problem = header.gan.problem { throw CheckpointError("\(path): the checkpoint's GAN cannot be trained: \(problem)") }
        (self.header, self.tensors) = (header, tensors)
    }

    /// Copies tensors, counters and generator states into `trainer`, which must have been made
    /// with the checkpoint's configuration and training-set size.
    public func restore(into trainer: GANTrainer) throws(CheckpointError) {
        guard header.gan == trainer.config else { throw CheckpointError("the checkpoint's GAN configuration differs from the one being trained") }
        guard header.trainingCount == trainer.trainingCount else {
            throw CheckpointError("the checkpoint was trained on \(header.trainingCount) digits, not \(trainer.trainingCount)")
        }
        let generator = Checkpoint.generator(hex:)
        guard let random = generator(header.rngState) else { throw CheckpointError("the checkpoint's random generator state is invalid") }
        var dropout: RandomGenerator?
        if let words = header.dropoutRngState {
            guard let state = generator(words) else { throw CheckpointError("the checkpoint's dropout generator state is invalid") }
            dropout = state
        }
        guard (dropout == nil) == (trainer.dropoutState == nil) else { throw CheckpointError("the checkpoint's dropout state does not fit the trainer") }
        try restoreTensors(into: trainer.namedTensors)
        trainer.resume(epochs: header.epoch, generatorSteps: header.generatorSteps, discriminatorUpdates: header.discriminatorUpdates)
        trainer.random = random
        trainer.dropoutState = dropout
    }
}
