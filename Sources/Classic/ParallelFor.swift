import Dispatch

/// Runs `body(i)` for i in 0..<count on up to `threads` threads (1: in order on the caller's
/// thread). Used for independent binary problems (one-vs-all classes); each must write only its
/// own outputs.
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < count { work(i); i += workers }
        }
    }
}
