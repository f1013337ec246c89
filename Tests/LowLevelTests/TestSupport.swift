import Foundation
@_exported import TestSupport

typealias SplitMix = SeededRandom

enum ProcessInfoLite {
    static func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}
