import Foundation
import Generative
import LowLevel
import ModelFile

/// A trainer that trains epoch by epoch from one generator, everything it changes in
/// `namedTensors` (the flow's and the diffusion model's), so `EpochCheckpoint` can stop and
/// resume it.
public protocol EpochCheckpointable: AnyObject {
    associatedtype Config: Codable & Equatable
    /// The checkpoint's model kind ("flow"), also the JSON key of its configuration.
    static var checkpointModel: String { get }
    /// The kind in messages ("a flow").
    static var checkpointKind: String { get }
    /// Why a decoded configuration cannot be trained, or nil.
    static func problem(of config: Config) -> String?
    var config: Config { get }
    var trainingCount: Int { get }
    var epochs: Int { get }
    var steps: Int { get }
    var random: RandomGenerator { get set }
    var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { get }
    func resume(epochs: Int, steps: Int)
}

/// A training checkpoint of an `EpochCheckpointable` trainer: the configuration, the training
/// set's size, the epoch and step counts, the trainer's generator state, and every tensor training
/// changes, so a resumed run ends with exactly the weights of an uninterrupted one.
public struct EpochCheckpoint<Trainer: EpochCheckpointable>: JSONHeaderCheckpoint {
    public struct Header: CheckpointHeader {
        /// `Trainer.checkpointModel`, so the other checkpoints' readers and this one tell each other apart.
        public var model: String
        public var config: Trainer.Config
        public var trainingCount: Int
        public var epoch: Int
        public var steps: Int
        /// xoshiro256** state words in hex.
        public var rngState: [String]
        public var tensors: [Checkpoint.TensorEntry]

        /// The configuration is stored under the model's name ("flow": {...}).
        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(model: String, config: Trainer.Config, trainingCount: Int, epoch: Int, steps: Int, rngState: [String],
             tensors: [Checkpoint.TensorEntry]) {
            (self.model, self.config, self.trainingCount, self.epoch) = (model, config, trainingCount, epoch)
            (self.steps, self.rngState, self.tensors) = (steps, rngState, tensors)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            model = try c.decode(String.self, forKey: Key(stringValue: "model"))
            config = try c.decode(Trainer.Config.self, forKey: Key(stringValue: Trainer.checkpointModel))
            trainingCount = try c.decode(Int.self, forKey: Key(stringValue: "trainingCount"))
            epoch = try c.decode(Int.self, forKey: Key(stringValue: "epoch"))
            steps = try c.decode(Int.self, forKey: Key(stringValue: "steps"))
            rngState = try c.decode([String].self, forKey: Key(stringValue: "rngState"))
            tensors = try c.decode([Checkpoint.TensorEntry].self, forKey: Key(stringValue: "tensors"))
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(model, forKey: Key(stringValue: "model"))
            try c.encode(config, forKey: Key(stringValue: Trainer.checkpointModel))
            try c.encode(trainingCount, forKey: Key(stringValue: "trainingCount"))
            try c.encode(epoch, forKey: Key(stringValue: "epoch"))
            try c.encode(steps, forKey: Key(stringValue: "steps"))
            try c.encode(rngState, forKey: Key(stringValue: "rngState"))
            try c.encode(tensors, forKey: Key(stringValue: "tensors"))
        }
    }

    public var header: Header
    public var tensors: [String: [Float]]

    public init(trainer: Trainer) {
        let (entries, tensors) = Checkpoint.snapshot(trainer.namedTensors)
        header = Header(model: Trainer.checkpointModel, config: trainer.config, trainingCount: trainer.trainingCount, epoch: trainer.epochs,
                        steps: trainer.steps, rngState: Checkpoint.hex(trainer.random), tensors: entries)
        self.tensors = tensors
    }

    public init(decoding bytes: [UInt8], path: String = "checkpoint") throws(CheckpointError) {
        let (header, tensors): (Header, [String: [Float]]) = try Checkpoint.decode(bytes, path: path, model: Trainer.checkpointModel,
                                                                                   kind: Trainer.checkpointKind)
        if let problem = Trainer.problem(of: header.config) {
            throw CheckpointError("\(path): the checkpoint's \(Trainer.checkpointModel) cannot be trained: \(problem)")
        }
        (self.header, self.tensors) = (header, tensors)
    }

    /// Copies tensors, counters and the generator state into `trainer`, which must have been made
    /// with the checkpoint's configuration and training-set size.
    public func restore(into trainer: Trainer) throws(CheckpointError) {
        guard header.config == trainer.config else {
            throw CheckpointError("the checkpoint's \(Trainer.checkpointModel) configuration differs from the one being trained")
        }
        guard header.trainingCount == trainer.trainingCount else {
            throw CheckpointError("the checkpoint was trained on \(header.trainingCount) digits, not \(trainer.trainingCount)")
        }
        guard let random = Checkpoint.generator(hex: header.rngState) else { throw CheckpointError("the checkpoint's random generator state is invalid") }
        try restoreTensors(into: trainer.namedTensors)
        trainer.resume(epochs: header.epoch, steps: header.steps)
        trainer.random = random
    }
}

/// A flow's checkpoint (`FlowTrainer.namedTensors`: the parameters and their Adam moments; the
/// masks follow from the configuration), for `train --model flow --resume`.
public typealias FlowCheckpoint = EpochCheckpoint<FlowTrainer>

/// A diffusion model's checkpoint (the U-Net's parameters, their Adam moments and moving
/// averages), for `train --model diffusion --resume`.
public typealias DiffusionCheckpoint = EpochCheckpoint<DiffusionTrainer>

extension FlowTrainer: EpochCheckpointable {
    public static var checkpointModel: String { "flow" }
    public static var checkpointKind: String { "a flow" }
    public static func problem(of config: FlowConfig) -> String? { config.problem }
}

extension DiffusionTrainer: EpochCheckpointable {
    public static var checkpointModel: String { "diffusion" }
    public static var checkpointKind: String { "a diffusion model" }
    public static func problem(of config: DiffusionConfig) -> String? { config.problem }
}
