/// How hard a commit is pushed to disk (SQLite's `synchronous` in WAL mode).
/// Docs/storage.md explains what each can lose.
public enum Durability: String, Sendable, CaseIterable {
    /// WAL appended on commit, synced at checkpoints: survives a process crash,
    /// may lose the last commits on power failure. The default.
    case normal
    /// WAL synced on every commit: survives power failure too.
    case full

    var pragma: String {
        switch self {
        case .normal: "NORMAL"
        case .full: "FULL"
        }
    }
}
