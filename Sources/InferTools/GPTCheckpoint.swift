import Foundation
import LowLevel
import Training
import ModelFile

/// A GPT training checkpoint: the model's shape, the training configuration, the update count,
/// the window sampler's and the dropout generator's states, and every parameter with its AdamW
/// moments: what `train --model gpt --resume` needs to end with exactly the weights of an
/// uninterrupted run. The file layout is `Checkpoint`'s, with this header as its JSON.
public struct GPTCheckpoint: JSONHeaderCheckpoint {
    public struct Header: CheckpointHeader {
        /// "gpt", so a network checkpoint's reader and this one tell each other apart.
        public var model: String
        public var gpt: GPTConfig
        public var training: GPTTrainingConfig
        /// The sorted byte values of the training text (the token ids' meaning).
        public var vocabulary: [UInt8]
        public var step: Int
        /// xoshiro256** state words in hex.
        public var rngState: [String]
        public var dropoutRngState: [String]?
        public var tensors: [Checkpoint.TensorEntry]
    }

    public var header: Header
    public var tensors: [String: [Float]]

    public init(trainer: GPTTrainer, vocabulary: [UInt8]) {
        let (entries, tensors) = Checkpoint.snapshot(trainer.namedTensors)
        header = Header(model: "gpt", gpt: trainer.gpt.config, training: trainer.config, vocabulary: vocabulary, step: trainer.steps,
                        rngState: Checkpoint.hex(trainer.random),
                        dropoutRngState: trainer.dropoutState.map(Checkpoint.hex), tensors: entries)
        self.tensors = tensors
    }

    public init(decoding bytes: [UInt8], path: String = "checkpoint") throws(CheckpointError) {
        (header, tensors) = try Checkpoint.decode(bytes, path: path, model: "gpt", kind: "a GPT")
    }

    /// Whether `bytes` hold a GPT checkpoint (rather than a network's).
    public static func isGPT(_ bytes: [UInt8]) -> Bool {
        guard let (json, _) = try? Checkpoint.opened(bytes, path: ""),
              let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return false }
        return object["model"] as? String == "gpt"
    }

    /// Copies weights, moments, the update count and the generators' states into `trainer`,
    /// which must have the checkpoint's model shape.
    public func restore(into trainer: GPTTrainer) throws(CheckpointError) {
        guard header.gpt == trainer.gpt.config else {
            throw CheckpointError("the checkpoint's GPT (\(header.gpt)) differs from the one being trained (\(trainer.gpt.config))")
        }
        let generator = Checkpoint.generator(hex:)
        guard let random = generator(header.rngState) else { throw CheckpointError("the checkpoint's random generator state is invalid") }
        try restoreTensors(into: trainer.namedTensors)
        trainer.resume(atStep: header.step)
        trainer.random = random
        if let words = header.dropoutRngState { trainer.dropoutState = generator(words) }
    }
}
