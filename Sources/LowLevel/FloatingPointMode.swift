import CPUControl

/// The calling thread's treatment of denormal floats.
public enum FloatingPointMode {
    /// Runs `body` with denormals flushed to zero on this thread (FTZ and DAZ on x86), then restores
    /// the previous mode. Training uses it: optimizer state and gradients that decay towards zero
    /// otherwise become denormals, each operation on which costs a slow microcode assist (a
    /// momentum update measured 19% of a training step without it). Results differ from IEEE only
    /// for values below 1.2e-38, which become 0.
    public static func withDenormalsFlushed<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let saved = cpu_flush_denormals()
        defer { cpu_restore_float_mode(saved) }
        return try body()
    }
}
