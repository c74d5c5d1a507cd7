import Foundation
import TestSupport

/// A small filesystem of the test's own (a 24 MiB tmpfs), to fill for real:
/// the disk-full tests write their data directory on it.
final class SmallDisk {
    let mount: TemporaryDirectory
    private let filler: String
    private var handle: FileHandle?

    init(_ name: String) throws {
        mount = try TemporaryDirectory(name)
        filler = mount.file("filler")
        do {
            try Command.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mount.path])
        } catch {
            mount.remove()
            throw error
        }
    }

    /// A path on the filesystem.
    func file(_ name: String) -> String { mount.file(name) }

    /// Fills the filesystem, and again when called after the server freed
    /// some of it (a checkpoint shortening the log).
    func fill() throws {
        if handle == nil {
            guard FileManager.default.createFile(atPath: filler, contents: nil) else {
                throw TestServer.Failure(message: "cannot create \(filler)")
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        }
        guard let handle else { return }
        for size in [1_048_576, 4_096] {
            let chunk = Data(count: size)
            do { try handle.seekToEnd(); while true { try handle.write(contentsOf: chunk) } } catch {}
        }
    }

    /// Gives the space back.
    func free() throws {
        try? handle?.close()
        handle = nil
        try FileManager.default.removeItem(atPath: filler)
    }

    /// Unmounts and removes it.
    func remove() {
        try? handle?.close()
        _ = try? Command.run("/usr/bin/umount", [mount.path])
        mount.remove()
    }
}
