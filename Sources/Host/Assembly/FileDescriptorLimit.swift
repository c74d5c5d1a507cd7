#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The process's limit on open files, which bounds the connections the
/// server can hold (each is a file descriptor, besides the database's).
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard one (a server should not run out of
    /// descriptors below what the system allows it) and returns it; nil when
    /// it cannot be read.
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Descriptors kept for everything but connections (database, log, plugins).
    static let reserved = 64
}
