import ModelFile
#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock timing without Foundation.
public enum MonotonicClock {
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func seconds(since start: UInt64) -> Double {
        Double(now() - start) / 1e9
    }
}
