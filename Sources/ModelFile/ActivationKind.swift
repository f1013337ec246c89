/// The element-wise non-linearities a network layer can apply.
public enum ActivationKind: String, Codable, Sendable, CaseIterable {
    case relu, elu, sigmoid, tanh
}
