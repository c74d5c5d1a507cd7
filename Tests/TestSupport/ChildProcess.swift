public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A command of this machine started by the tests, with `posix_spawn`.
///
/// Not Foundation's `Process`: on Linux its `run()` lists `/proc/self/fd` to
/// close every descriptor in the child and copies each entry's whole
/// 256-byte name out of the directory buffer, which reads past the buffer
/// when the list is long (a test run holds more than a thousand descriptors:
/// every test's server, engine and connections) and crashed the test process
/// (a `memcpy` fault in `Process.run`, seen in CI). Here the child closes
/// every descriptor from 3 up with `posix_spawn_file_actions_addclosefrom_np`,
/// gets default signal dispositions and an empty signal mask (the test
/// process ignores or blocks some for its in-process servers), and runs in
/// a process group of its own.
public final class ChildProcess: @unchecked Sendable {
    /// Where a child's standard output or error goes.
    public enum Destination {
        /// A pipe whose read end is `output` or `errors`.
        case pipe
        /// `/dev/null`.
        case null
        /// An open file.
        case file(FileHandle)
        /// Standard output (for standard error: the same as standard output).
        case standardOutput
    }

    /// How a child ended.
    public enum Termination: Equatable, Sendable {
        case exit(Int32)
        case signal(Int32)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    /// The read end of the standard output's pipe (with `.pipe`).
    public let output: FileHandle?
    /// The read end of the standard error's pipe (with `.pipe`).
    public let errors: FileHandle?
    private let state = NSLock()
    private var ended: Termination?

    /// Starts `executable` with `arguments`; `environment` is added to this
    /// process's environment.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                standardOutput: Destination = .null, standardError: Destination = .null) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { for descriptor in childEnds { close(descriptor) } }

        func connect(_ destination: Destination, to target: Int32) throws -> FileHandle? {
            switch destination {
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
                for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
                parentEnds.append(ends[0])
                childEnds.append(ends[1])
                posix_spawn_file_actions_adddup2(&actions, ends[1], target)
                return FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
                return nil
            case let .file(handle):
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
                return nil
            case .standardOutput:
                posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, target)
                return nil
            }
        }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        output = try connect(standardOutput, to: STDOUT_FILENO)
        errors = try connect(standardError, to: STDERR_FILENO)
        guard let closeFrom = Self.addCloseFrom else {
            throw Failure(description: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later has it)")
        }
        guard closeFrom(&actions, 3) == 0 else { throw Failure(description: "posix_spawn_file_actions_addclosefrom_np failed") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        var variables = ProcessInfo.processInfo.environment
        if let environment { variables.merge(environment) { $1 } }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0)=\($1)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            for descriptor in parentEnds { close(descriptor) }
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module
    /// does not declare (it is a GNU extension).
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) {
        state.withLock {
            if ended == nil { _ = kill(pid, signal) }
        }
    }

    /// Whether the child has not ended yet (reaps it if it has).
    public var isRunning: Bool {
        state.withLock {
            if ended == nil, let status = Self.reap(pid, options: WNOHANG) { ended = status }
            return ended == nil
        }
    }

    /// Blocks until the child ends (without holding the lock, so that
    /// `send` and `isRunning` still answer meanwhile).
    @discardableResult
    public func wait() -> Termination {
        while true {
            if let ended = state.withLock({ ended }) { return ended }
            if let status = Self.reap(pid, options: 0) {
                state.withLock { if ended == nil { ended = status } }
            } else {
                usleep(1_000)  // another thread reaped it and is storing the status
            }
        }
    }

    /// Waits on a thread of its own (not one of Swift concurrency's).
    @discardableResult
    public func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.wait() as Termination) }
        }
    }

    /// The child's end, when `waitpid` reports it.
    private static func reap(_ pid: pid_t, options: Int32) -> Termination? {
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, options) } while result < 0 && errno == EINTR
        guard result == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? .exit((status >> 8) & 0xff) : .signal(signal)
    }

    deinit {
        if ended == nil {
            _ = kill(pid, SIGKILL)
            _ = Self.reap(pid, options: 0)
        }
    }
}
