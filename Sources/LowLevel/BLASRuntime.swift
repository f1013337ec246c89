import COpenBLAS
import CPUControl
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide OpenBLAS settings: the kernel family and the thread count.
///
/// OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its SSE3 ("Prescott")
/// kernels, about 5x slower than its AVX-512 ("SkylakeX") ones on the same CPU; on AMD's Zen 4
/// and Zen 5 it picks its AVX2 ("Haswell") kernels, which leave AVX-512 unused (the GPT's
/// training step runs about 1.3x slower with them on a Zen 5). `configure` fixes that once per
/// process: when the user has not set `OPENBLAS_CORETYPE`, OpenBLAS was built with `DYNAMIC_ARCH`,
/// it chose a generic kernel (or an AVX2 one on a CPU with AVX-512), and the CPU reports the
/// features the better kernel needs (AVX-512 F/DQ/BW/VL for SkylakeX, AVX2 + FMA for Haswell), it
/// re-runs OpenBLAS's own kernel selection with `OPENBLAS_CORETYPE` set. A value the user set is
/// always respected.
public enum BLAS {
    /// What kernel selection did, for logs and `--json` output.
    public static var kernelReport: String { selection }

    /// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Prescott", ...).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Picks the kernel (once) and sets the number of BLAS threads.
    /// With more than one thread OpenBLAS allocates heap memory in every large call.
    public static func configure(threads: Int = 1) {
        _ = selection
        openblas_set_num_threads(Int32(max(1, threads)))
    }

    /// OpenBLAS's kernels for CPUs without AVX2 (SSE-era families), which it also falls back to on
    /// CPUs it does not recognise.
    public static let genericKernelNames: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge",
                                                         "katmai", "coppermine", "northwood", "banias", "atom", "nano", "unknown"]

    /// OpenBLAS's AVX2 kernels, which it chooses for AMD's AVX-512 CPUs too.
    static let avx2KernelNames: Set<String> = ["haswell", "zen"]

    /// Whether `name` (a `coreName`) is one of the generic kernels, compared case-insensitively.
    public static func isGenericKernel(_ name: String) -> Bool { genericKernelNames.contains(name.lowercased()) }

    /// Whether this CPU has the features of OpenBLAS's AVX2 ("Haswell") kernels: AVX2 and FMA.
    public static var cpuHasAVX2: Bool { cpu_supports("avx2") != 0 && cpu_supports("fma") != 0 }

    /// Whether this CPU has the features of OpenBLAS's AVX-512 ("SkylakeX") kernels: AVX-512 F, DQ, BW and VL.
    public static var cpuHasAVX512: Bool {
        (["avx512f", "avx512dq", "avx512bw", "avx512vl"] as [String]).allSatisfy { cpu_supports($0) != 0 }
    }

    /// Current number of BLAS threads.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    private static let selection: String = selectKernel()

    private static func selectKernel() -> String {
        let before = coreName
        if let forced = getenv("OPENBLAS_CORETYPE") {
            return "OpenBLAS kernel \(before) (OPENBLAS_CORETYPE=\(String(cString: forced)) set by the user)"
        }
        let wanted: String
        if cpuHasAVX512 {
            wanted = "SkylakeX"
        } else if cpuHasAVX2 {
            wanted = "Haswell"
        } else {
            return "OpenBLAS kernel \(before) (no AVX2 or AVX-512 found)"
        }
        let upgradable = isGenericKernel(before) || (wanted == "SkylakeX" && avx2KernelNames.contains(before.lowercased()))
        guard upgradable, before.lowercased() != wanted.lowercased() else {
            return "OpenBLAS kernel \(before) (chosen by OpenBLAS)"
        }
        // These two are exported by DYNAMIC_ARCH builds only; look them up instead of linking them.
        guard let handle = dlopen(nil, RTLD_NOW),
              let quit = dlsym(handle, "gotoblas_dynamic_quit"),
              let initialise = dlsym(handle, "gotoblas_dynamic_init") else {
            return "OpenBLAS kernel \(before) (not a DYNAMIC_ARCH build; set OPENBLAS_CORETYPE to change it)"
        }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialise, to: Hook.self)()
        return "OpenBLAS kernel \(coreName) (OpenBLAS chose \(before); this CPU supports \(wanted))"
    }
}
