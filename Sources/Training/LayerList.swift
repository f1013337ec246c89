import LowLevel
import ModelFile

/// A compact text form of a layer stack, for the command line:
///
///     conv:6,5x5,p=2 relu maxpool:2 conv:16,5x5 relu maxpool:2 flatten dense:120 relu dense:84 relu dense:10
///
/// Tokens, separated by spaces or semicolons:
/// - `conv:F,AxB[,s=SxT][,p=PxQ|same]`: F filters of A×B, stride S×T (default 1), zero padding P×Q
///   (default 0) or "same"; a single number means the same in both directions (`5` = `5x5`).
/// - `maxpool:AxB[,s=SxT]`, `avgpool:AxB[,s=SxT]`: window A×B, stride defaults to the window.
/// - `gap` (global average pooling), `flatten`, `bn` (batch norm), `dropout:R`, `dense:N`.
/// - `relu`, `elu`, `sigmoid`, `tanh`.
public enum LayerList {
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(ParseError) -> [LayerSpec] {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "\n" }).map(String.init)
        guard !tokens.isEmpty else { throw ParseError(description: "the layer list is empty") }
        var layers: [LayerSpec] = []
        for token in tokens {
            let parts = token.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts[0].lowercased()
            let args = parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : []
            func fail(_ why: String) -> ParseError { ParseError(description: "layer '\(token)': \(why)") }
            func pair(_ s: String) throws(ParseError) -> (Int, Int) {
                let n = s.split(separator: "x").map { Int($0) }
                if n.count == 1, let a = n[0] { return (a, a) }
                if n.count == 2, let a = n[0], let b = n[1] { return (a, b) }
                throw fail("'\(s)' is not N or NxM")
            }
            func option(_ key: String) -> String? {
                args.dropFirst().first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
            }
            switch name {
            case "relu", "elu", "sigmoid", "tanh":
                layers.append(.activation(ActivationKind(rawValue: name)!))
            case "flatten": layers.append(.flatten)
            case "gap": layers.append(.globalAvgPool)
            case "bn", "batchnorm": layers.append(.batchNorm)
            case "dense":
                guard args.count == 1, let n = Int(args[0]), n > 0 else { throw fail("needs a positive width, e.g. dense:128") }
                layers.append(.dense(outputs: n))
            case "dropout":
                guard args.count == 1, let r = Float(args[0]), r >= 0, r < 1 else { throw fail("needs a rate in [0, 1), e.g. dropout:0.5") }
                layers.append(.dropout(rate: r))
            case "conv":
                guard args.count >= 2, let filters = Int(args[0]), filters > 0 else { throw fail("needs filters and a kernel, e.g. conv:6,5x5") }
                let kernel = try pair(args[1])
                let stride = try option("s").map { s throws(ParseError) in try pair(s) } ?? (1, 1)
                let padding = option("p")
                var spec = Conv2DSpec(filters: filters, kernel: kernel, stride: stride)
                if padding == "same" { spec.same = true } else if let padding { (spec.padY, spec.padX) = try pair(padding) }
                for extra in args.dropFirst(2) where !extra.hasPrefix("s=") && !extra.hasPrefix("p=") {
                    throw fail("unknown option '\(extra)' (use s=SxT, p=PxQ or p=same)")
                }
                layers.append(.conv2d(spec))
            case "maxpool", "avgpool":
                guard args.count >= 1 else { throw fail("needs a window, e.g. \(name):2x2") }
                let window = try pair(args[0])
                let stride = try option("s").map { s throws(ParseError) in try pair(s) } ?? window
                let spec = PoolSpec(window: window, stride: stride)
                layers.append(name == "maxpool" ? .maxPool2d(spec) : .avgPool2d(spec))
            default:
                throw fail("unknown layer; known: conv, maxpool, avgpool, gap, flatten, bn, dropout, dense, relu, elu, sigmoid, tanh")
            }
        }
        return layers
    }
}
