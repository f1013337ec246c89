import Testing
@testable import Plots

@Suite struct AxisScaleTests {
    @Test func ticksAreRoundAndCoverTheData() {
        let s = AxisScale(covering: 0.031, 2.31, ticks: 6)
        #expect(s.step == 0.5 && s.lower == 0 && s.upper == 2.5)
        #expect(s.ticks == [0, 0.5, 1, 1.5, 2, 2.5])
        #expect(s.label(1.5) == "1.5" && s.label(2) == "2.0")
        let losses = AxisScale(covering: 1.47, 1.93, ticks: 6)
        #expect(losses.step == 0.1 && abs(losses.lower - 1.4) < 1e-12 && abs(losses.upper - 2.0) < 1e-12)
        #expect(losses.fraction(1.7) > 0.49 && losses.fraction(1.7) < 0.51)
    }

    @Test func integerAxesNeverStepBelowOne() {
        let epochs = AxisScale(covering: 1, 3, ticks: 8, integers: true)
        #expect(epochs.step == 1 && epochs.ticks == [1, 2, 3] && epochs.label(2) == "2")
        let iterations = AxisScale(covering: 0, 2000, ticks: 8, integers: true)
        #expect(iterations.step == 200 && iterations.upper == 2000)
    }

    @Test func degenerateRangesStillMakeAnAxis() {
        let one = AxisScale(covering: 0.5, 0.5)
        #expect(one.lower < 0.5 && one.upper > 0.5 && one.step > 0)
        let zero = AxisScale(covering: 0, 0)
        #expect(zero.lower <= -1 && zero.upper >= 1)
        let broken = AxisScale(covering: .nan, .infinity)
        #expect(broken.lower == 0 && broken.upper == 1)
        #expect(AxisScale(covering: -0.001, 0.001).label(0) == "0.0000" || AxisScale(covering: -0.001, 0.001).label(0) == "0.000")
    }
}
