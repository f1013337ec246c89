import ArgumentParser
import Arena
import Classic
import Foundation
import Infer
import Training
import ModelFile

/// Networks on the small CSV data sets (`train --model mlp --dataset NAME`): features standardised
/// on the training rows; a regression set (diabetes) trains one output with mean squared error on
/// targets standardised the same way (the model file maps the output back to the data's units), a
/// classification set one softmax output per class, or with `--binary` a two-class set one
/// sigmoid output with binary cross-entropy (the course's binary classifier).
struct TabularNetworkData {
    var train: ClassificationSet
    var test: ClassificationSet
    var scaler: Standardizer
    var outputs: Int
    var loss: LossKind
    /// Regression: the training targets' mean and standard deviation; the network learns
    /// (t − mean)/std, so its squared errors are in units of std².
    var targetScale: (mean: Float, std: Float)? = nil

    static func load(_ options: Train, console: Console) throws -> TabularNetworkData {
        let (directory, _, split) = try ClassicTraining.loadSmallSplit(options)
        var rawTrain = split.train
        if let limit = options.trainLimit, limit < rawTrain.rows { rawTrain = rawTrain.rows(Array(0..<limit)) }
        let scaler = Standardizer(fitting: rawTrain)
        let d = rawTrain.columns
        var targetScale: (mean: Float, std: Float)? = nil
        if !rawTrain.isClassification {
            let targets = Standardizer(fitting: rawTrain.targets, columns: 1)
            targetScale = (targets.mean[0], targets.std[0])
        }
        func set(_ table: TabularData) -> ClassificationSet {
            let features = ClassificationSet.Features.floats(scaler.apply(table.features))
            if let (mean, std) = targetScale {
                return ClassificationSet(features: features, values: table.targets.map { ($0 - mean) / std }, featureCount: d)
            }
            return ClassificationSet(features: features, labels: table.targets.map { Int32($0) }, featureCount: d,
                                     classCount: max(2, split.train.classCount, split.test.classCount))
        }
        let train = set(rawTrain), test = set(split.test)
        let outputs: Int, loss: LossKind
        if !rawTrain.isClassification {
            guard !options.binary else { throw ValidationError("--binary is for two-class sets; \(options.dataset) is a regression set") }
            (outputs, loss) = (1, .meanSquaredError)
        } else if options.binary {
            guard train.classCount == 2 else { throw ValidationError("--binary is for two-class sets; \(options.dataset) has \(train.classCount) classes") }
            (outputs, loss) = (1, .binaryCrossEntropy)
        } else {
            (outputs, loss) = (train.classCount, .softmaxCrossEntropy)
        }
        console.line("data: \(options.dataset) from \(directory): \(train.count) training, \(test.count) test rows, \(d) features, standardised on the training rows; "
                     + "\(outputs) output(s), loss \(loss.rawValue)")
        return TabularNetworkData(train: train, test: test, scaler: scaler, outputs: outputs, loss: loss, targetScale: targetScale)
    }

    /// A squared error of the network's (standardised) output in the data's units.
    func squaredErrorInDataUnits(_ value: Double) -> Double {
        guard let targetScale else { return value }
        return value * Double(targetScale.std) * Double(targetScale.std)
    }

    /// The model file: the standardisation, then the network's dense layers and activations
    /// (dropout is the identity at inference). A binary network's logit z becomes the class
    /// probabilities through one more dense stage to (−z/2, z/2), whose softmax is (1 − σ(z), σ(z)).
    func modelFile(_ network: Network) throws -> [UInt8] {
        var stages: [ModelStage] = [scaler.stage]
        let shapes = network.spec.shapes!
        for (index, layer) in network.spec.layers.enumerated() {
            switch layer {
            case .dense:
                let name = network.networkGraph.layerNames[index]!
                stages.append(.dense(weight: Array(network.tensor(named: "\(name).weight")!),
                                     bias: Array(network.tensor(named: "\(name).bias")!),
                                     inputs: shapes[index].count, outputs: shapes[index + 1].count))
            case .activation(let kind): stages.append(.activation(kind))
            case .dropout: continue
            default: throw ValidationError("cannot export a \(layer) layer of a network on a small data set")
            }
        }
        let kind: ModelFormat.OutputKind
        switch network.spec.loss {
        case .softmaxCrossEntropy: kind = .probabilities
        case .meanSquaredError:
            if let (mean, std) = targetScale { stages.append(.affine(scale: [std], shift: [mean])) }
            kind = .values
        case .binaryCrossEntropy:
            stages.append(.dense(weight: [-0.5, 0.5], bias: [0, 0], inputs: 1, outputs: 2))
            kind = .probabilities
        }
        let description = ModelWriter.Description(inputShape: (1, 1, network.inputCount), outputKind: kind, inputEncoding: .floats)
        do { return try ModelWriter.encode(stages: stages, description: description) } catch { throw ValidationError("cannot export: \(error)") }
    }
}
