import Foundation
import Generative
import LowLevel
import ModelFile

/// A flow training checkpoint: the configuration, the training set's size, the epoch and step
/// counts, the trainer's generator state (shuffling and dequantisation noise), and every tensor
/// training changes (`FlowTrainer.namedTensors`: the parameters and their Adam moments), so
/// `train --model flow --resume` ends with exactly the weights of an uninterrupted run. The masks
/// are not stored: they follow from the configuration.
public struct FlowCheckpoint: JSONHeaderCheckpoint {
    public struct Header: CheckpointHeader {
        /// "flow", so the other checkpoints' readers and this one tell each other apart.
        public var model: String
        public var flow: FlowConfig
        public var trainingCount: Int
        public var epoch: Int
        public var steps: Int
        /// xoshiro256** state words in hex.
        public var rngState: [String]
        public var tensors: [Checkpoint.TensorEntry]
    }

    public var header: Header
    public var tensors: [String: [Float]]

    public init(trainer: FlowTrainer) {
        let (entries, tensors) = Checkpoint.snapshot(trainer.namedTensors)
        header = Header(model: "flow", flow: trainer.config, trainingCount: trainer.trainingCount, epoch: trainer.epochs,
                        steps: trainer.steps, rngState: Checkpoint.hex(trainer.random), tensors: entries)
        self.tensors = tensors
    }

    public init(decoding bytes: [UInt8], path: String = "checkpoint") throws(CheckpointError) {
        let (header, tensors): (Header, [String: [Float]]) = try Checkpoint.decode(bytes, path: path, model: "flow", kind: "a flow")
        if let problem = header.flow.problem { throw CheckpointError("\(path): the checkpoint's flow cannot be trained: \(problem)") }
        (self.header, self.tensors) = (header, tensors)
    }

    /// Copies tensors, counters and the generator state into `trainer`, which must have been made
    /// with the checkpoint's configuration and training-set size.
    public func restore(into trainer: FlowTrainer) throws(CheckpointError) {
        guard header.flow == trainer.config else { throw CheckpointError("the checkpoint's flow configuration differs from the one being trained") }
        guard header.trainingCount == trainer.trainingCount else {
            throw CheckpointError("the checkpoint was trained on \(header.trainingCount) digits, not \(trainer.trainingCount)")
        }
        guard let random = Checkpoint.generator(hex: header.rngState) else { throw CheckpointError("the checkpoint's random generator state is invalid") }
        try restoreTensors(into: trainer.namedTensors)
        trainer.resume(epochs: header.epoch, steps: header.steps)
        trainer.random = random
    }
}
