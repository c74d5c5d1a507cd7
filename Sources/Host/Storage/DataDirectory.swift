internal import FoundationEssentials
public import SQLite
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// The directory of the database, held by one serving process at a time,
/// and the checks its database passes before anything writes to it: a
/// database that is locked, truncated, damaged, unreadable or of a newer
/// schema is refused with a message naming the file and what to do, and left
/// exactly as it was (Arbiter never repairs a database on its own).
public final class DataDirectory: Sendable {
    public let path: String
    /// The lock file's descriptor, held (with its lock) until released.
    private let lockDescriptor: Atomic<Int32>

    /// The database file in the directory.
    public var databasePath: String { path + "/" + Self.databaseName }
    /// Where plugin libraries are copied, each named by its content's hash,
    /// and loaded from.
    public var pluginCopiesPath: String { path + "/plugins" }

    public static let databaseName = "arbiter.sqlite"
    public static let lockName = "arbiter.lock"

    /// Creates the directory if missing and takes its lock.
    /// - Throws: `StartupError` when the directory cannot be made or written,
    ///   or another process holds it.
    public init(path: String) throws(StartupError) {
        self.path = path
        var status = stat()
        if stat(path, &status) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StartupError(file: path, problem: "the data directory cannot be created (\(Self.reason(errno)))",
                                   remedy: "create it, or choose another with --data-dir")
            }
        } else if status.st_mode & S_IFMT != S_IFDIR {
            throw StartupError(file: path, problem: "the data directory is not a directory", remedy: "choose another with --data-dir")
        }
        let lockPath = path + "/" + Self.lockName
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let error = errno
            throw StartupError(file: path, problem: "the data directory is not writable (\(Self.reason(error)))",
                               remedy: "make it writable by the user running arbiter, or choose another with --data-dir")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            let holder = count > 0 ? String(decoding: buffer[0..<count].filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self) : "?"
            close(descriptor)
            throw StartupError(file: path, problem: "another arbiter process (pid \(holder)) is using this data directory",
                               remedy: "stop it first, or give this one another --data-dir")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        lockDescriptor = Atomic(descriptor)
    }

    deinit {
        release()
    }

    /// Lets another process (or engine) take the directory.
    public func release() {
        let descriptor = lockDescriptor.exchange(-1, ordering: .relaxed)
        guard descriptor >= 0 else { return }
        // Unlocked before it is closed: a child being spawned at this moment
        // holds a copy of the descriptor until its exec closes it, and with
        // it the lock, which a close alone would leave held until then.
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Checks the database before anything writes to it: readable, an SQLite
    /// database of its full length, a schema this build knows, and (when
    /// `integrity`) SQLite's quick integrity check passing. A new directory
    /// without a database passes.
    public func checkDatabase(integrity: Bool) throws(StartupError) {
        let file = databasePath
        var status = stat()
        guard stat(file, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw StartupError(file: file, problem: "the database is not a regular file", remedy: "move it away")
        }
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = errno
            throw StartupError(file: file, problem: "the database cannot be read (\(Self.reason(error)))",
                               remedy: "make it readable and writable by the user running arbiter")
        }
        var header = [UInt8](repeating: 0, count: 100)
        let read = pread(descriptor, &header, header.count, 0)
        close(descriptor)
        let restore = "restore it from a backup, or move it away to start with an empty database; Arbiter does not repair it"
        guard status.st_size > 0 else {
            throw StartupError(file: file, problem: "the database is empty (0 bytes): it was truncated, or is not Arbiter's", remedy: restore)
        }
        guard read == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw StartupError(file: file, problem: read < 100 && status.st_size < 100
                                   ? "the database is truncated (\(status.st_size) bytes, shorter than its header)"
                                   : "the file is not an SQLite database", remedy: restore)
        }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        func bigEndian(_ offset: Int) -> Int { header[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        let pages = bigEndian(28)
        let headerCountValid = bigEndian(92) == bigEndian(24)
        let size = Int(status.st_size)
        // A crash in the middle of a checkpoint leaves the file shorter than
        // its header says, the missing pages still in the write-ahead log
        // that the next open replays: with a log present, the length is
        // not a fault (the integrity check still reads every page).
        var logStatus = stat()
        let logHoldsPages = stat(file + "-wal", &logStatus) == 0 && logStatus.st_size > 32
        guard pageSize >= 512, size % pageSize == 0,
              !headerCountValid || logHoldsPages || size >= pages * pageSize else {
            throw StartupError(file: file, problem: "the database is truncated (\(size) bytes; its header says \(headerCountValid ? pages * pageSize : size) in pages of \(pageSize))",
                               remedy: restore)
        }
        do {
            let database = try Database(path: file, readOnly: true)
            try database.execute("PRAGMA busy_timeout = 5000")
            let version = Int(try database.scalar("PRAGMA user_version"))
            guard version <= Schema.currentVersion else {
                throw StartupError(file: file, problem: "the database has schema version \(version), newer than this build's \(Schema.currentVersion)",
                                   remedy: "run the Arbiter build that wrote it, or a newer one")
            }
            if integrity {
                let verdict = try database.with("PRAGMA quick_check") { s throws(SQLiteError) -> [String] in
                    var lines: [String] = []
                    while try s.step(), lines.count < 3 { lines.append(s.string(0)) }
                    return lines
                }
                guard verdict == ["ok"] else {
                    throw StartupError(file: file, problem: "the database is damaged (SQLite's integrity check: \(verdict.joined(separator: "; ")))",
                                       remedy: restore)
                }
            }
        } catch let error as StartupError {
            throw error
        } catch let error as SQLiteError {
            throw StartupError(database: file, error)
        } catch {
            throw StartupError(file: file, problem: "the database cannot be checked (\(error))", remedy: restore)
        }
    }

    static func reason(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}

/// Why the host cannot start on its data directory: the file at fault,
/// what is wrong, and what to do.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let problem: String
    public let remedy: String

    public init(file: String, problem: String, remedy: String) {
        self.file = file
        self.problem = problem
        self.remedy = remedy
    }

    /// The error SQLite gave on the database at start.
    public init(database file: String, _ error: SQLiteError) {
        self.file = file
        switch error.primaryCode {
        case 5, 6:  // SQLITE_BUSY, SQLITE_LOCKED
            problem = "the database is locked by another process"
            remedy = "stop the process that holds it (another arbiter, or a tool with a transaction open), then start again"
        case 11, 26:  // SQLITE_CORRUPT, SQLITE_NOTADB
            problem = "the database is damaged (\(error.message))"
            remedy = "restore it from a backup, or move it away to start with an empty database; Arbiter does not repair it"
        case 8:  // SQLITE_READONLY
            problem = "the database or its directory is read-only (\(error.message))"
            remedy = "make both writable by the user running arbiter"
        case 13:  // SQLITE_FULL
            problem = "the disk is full (\(error.message))"
            remedy = "free space on the disk of the data directory"
        case 14:  // SQLITE_CANTOPEN
            problem = "the database cannot be opened (\(error.message))"
            remedy = "check that it and its directory are readable and writable by the user running arbiter"
        default:
            problem = "the database cannot be opened (\(error))"
            remedy = "check the file; restore it from a backup if it is damaged"
        }
    }

    public var description: String { "\(file): \(problem): \(remedy)" }
}
