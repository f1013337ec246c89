import Foundation
@_exported import TestSupport
import Arena
import Classic
import Infer
import Training
import ModelFile


/// A small data set split as committed, standardised on its training rows, in an arena: the
/// standardised sets for Swift, the raw test rows for the C runtime (whose model file starts
/// with the standardisation).
struct SmallSplit {
    let train: SampleSet
    let test: SampleSet
    let rawTest: SampleSet
    let scaler: Standardizer

    init(_ name: String, arena: ArenaAllocator) throws {
        let split = try TabularData.loadSplit(name: name, directory: smallDataDirectory)
        scaler = Standardizer(fitting: split.train)
        train = try SampleSet(scaler.apply(split.train), arena: arena)
        test = try SampleSet(scaler.apply(split.test), arena: arena)
        rawTest = try SampleSet(split.test, arena: arena)
    }
}
