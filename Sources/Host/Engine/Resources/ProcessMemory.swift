internal import FoundationEssentials
#if canImport(Glibc)
internal import Glibc
#endif

/// The memory this process holds.
public enum ProcessMemory {
    /// Resident memory in bytes, from `/proc/self/statm` (Linux); nil where
    /// it cannot be read.
    public static var residentBytes: Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/self/statm") else { return nil }
        let fields = String(decoding: data, as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * pageSize
    }

    /// The size of a memory page.
    static let pageSize: Int = {
        #if canImport(Glibc)
        Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        4_096
        #endif
    }()
}
