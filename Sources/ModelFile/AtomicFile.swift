#if canImport(Glibc)
import Glibc
#endif

/// Errors reading or writing files.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}

/// Whole-file reads and crash-safe writes.
public enum AtomicFile {
    /// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it over
    /// `path`, so readers see the old file or the new one, never a mix. The temporary file is
    /// removed on failure.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        let temporary = "\(path).tmp-\(getpid())"
        let result: Result<Void, FileError> = bytes.withUnsafeBytes { raw in
            Result { () throws(FileError) in try write(raw, to: path, temporary: temporary) }
        }
        try result.get()
    }

    /// As `write(_:to:)` with the temporary file's name given: with C strings it allocates
    /// nothing unless it fails (the per-epoch checkpoint).
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: UnsafePointer<CChar>,
                             temporary: UnsafePointer<CChar>) throws(FileError) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: String(cString: path), reason: "cannot create \(String(cString: temporary)): \(errnoText())") }
        var failure: StaticString? = nil, code: Int32 = 0
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "write failed"; code = errno
                break
            }
            done += n
        }
        if failure == nil && fsync(fd) != 0 { failure = "fsync failed"; code = errno }
        if close(fd) != 0 && failure == nil { failure = "close failed"; code = errno }
        if failure == nil && rename(temporary, path) != 0 { failure = "rename failed"; code = errno }
        if let failure {
            unlink(temporary)
            throw FileError(path: String(cString: path), reason: "\(failure): \(String(cString: strerror(code)))")
        }
        syncDirectory(of: path)
    }

    /// Removes temporary files that writers of `path` left when they were killed mid-write
    /// (`<path>.tmp-<pid>` whose process no longer exists). A live writer's file is kept.
    public static func removeStaleTemporaries(of path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + ".tmp-"
        guard let stream = opendir(directory) else { return }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    /// Flushes the directory holding `path`, so the rename itself survives a power cut.
    private static func syncDirectory(of path: UnsafePointer<CChar>) {
        var length = strlen(path), slash = -1
        while length > 0 { length -= 1; if path[length] == 0x2F { slash = length; break } }
        let fd: Int32
        if slash < 0 {
            fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } else if slash == 0 {
            fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } else {
            // The directory's name, copied on the stack (paths are at most PATH_MAX bytes).
            fd = withUnsafeTemporaryAllocation(of: CChar.self, capacity: slash + 1) { name in
                name.baseAddress!.update(from: path, count: slash)
                name[slash] = 0
                return open(name.baseAddress!, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            }
        }
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Reads a whole file.
    public static func read(_ path: String, limit: Int = 1 << 34) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, reason: "cannot stat: \(errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: path, reason: "not a regular file") }
        let size = Int(info.st_size)
        guard size <= limit else { throw FileError(path: path, reason: "\(size) bytes is over the \(limit)-byte limit") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        var failure: String? = nil
        bytes.withUnsafeMutableBytes { raw in
            while done < size {
                let n = Glibc.read(fd, raw.baseAddress! + done, size - done)
                if n < 0 { if errno == EINTR { continue }; failure = errnoText(); return }
                if n == 0 { failure = "file shrank while reading"; return }
                done += n
            }
        }
        if let failure { throw FileError(path: path, reason: "read failed: \(failure)") }
        return bytes
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
