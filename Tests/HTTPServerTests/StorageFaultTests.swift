import Assembly
import Crypto
import Engine
import Foundation
import PluginHost
import SQLite
import Storage
import Synchronization
import Testing
import TestSupport

/// Faults of the disk and the database, made for real: a small filesystem
/// the test mounts and fills, a database locked by another process,
/// truncated, overwritten, unreadable, of a newer schema, in a read-only
/// directory. The server refuses to start on a bad database (exit non-zero,
/// a message naming the file and what to do) and never touches it; with the
/// disk full, it refuses feedback with 503 and recovers by itself.
@Suite("Faults of the disk and the database", .serialized)
struct StorageFaultTests {
    // MARK: Helpers

    /// A database with an experiment, decisions and learning, in `directory`,
    /// written by an engine that then shut down cleanly.
    static func makeDatabase(in directory: String) async throws {
        let engine = try Engine.open(configuration: EngineConfiguration(dataDirectory: directory), catalog: FirstPartyPlugins.catalog)
        _ = try await engine.ensureTenant("acme")
        _ = try await engine.createExperiment(tenant: "acme", ExperimentDefinition(key: "route", arms: ["a", "b", "c"],
                                                                                   strategies: [StrategySetup(plugin: "thompson")]))
        var events: [FeedbackEvent] = []
        for index in 0..<500 {
            let decision = try await engine.decide(tenant: "acme", experiment: "route")
            events.append(FeedbackEvent(eventID: "e\(index)", decisionID: decision.decisionID, reward: decision.arm == "a" ? 1 : 0))
        }
        _ = try await engine.recordFeedback(tenant: "acme", events)
        await engine.shutdown()
    }

    /// SHA-256 of a file, to show it was left exactly as it was.
    static func digest(_ path: String) throws -> String {
        SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
    }

    /// Runs `arbiter serve` on `directory` (as `user` when given) and returns
    /// how it ended; a server that starts instead of refusing is stopped
    /// after 60 s and the test fails on its exit status.
    static func serve(_ directory: String, as user: Int? = nil) async throws -> Command.Outcome {
        var arguments = ["60", TestPaths.buildDirectory + "/arbiter", "serve", "--port", "0", "--data-dir", directory,
                         "--plugin-dir", TestPaths.buildDirectory]
        var executable = "/usr/bin/timeout"
        if let user {
            arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", executable] + arguments
            executable = "/usr/bin/setpriv"
        }
        return try await Command.outcome(executable, arguments)
    }

    /// Expects a refusal to start that names `file` and says what to do, and
    /// the database unchanged.
    static func expectRefused(_ outcome: Command.Outcome, naming file: String, saying problem: String,
                              database: String, digest before: String) throws {
        #expect(outcome.status != 0 && outcome.status != 124, "refused to start, not served: \(outcome.status) \(outcome.error)")
        #expect(outcome.error.contains(file), "names the file: \(outcome.error)")
        #expect(outcome.error.contains(problem), "says what is wrong: \(outcome.error)")
        #expect(outcome.error.contains("Arbiter does not repair") || outcome.error.contains("stop") || outcome.error.contains("make")
                || outcome.error.contains("run the Arbiter build"), "says what to do: \(outcome.error)")
        #expect(try digest(database) == before, "the database was left exactly as it was")
    }

    static var isRoot: Bool { getuid() == 0 }

    // MARK: At start

    @Test("a database locked by another process: refused, untouched")
    func locked() async throws {
        let directory = try TemporaryDirectory("arbiter-locked")
        defer { directory.remove() }
        try await Self.makeDatabase(in: directory.path)
        let database = directory.file("arbiter.sqlite")
        let before = try Self.digest(database)
        // Another process holds the database with an exclusive lock.
        let holder = try ChildProcess(TestPaths.python, ["-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("PRAGMA locking_mode=EXCLUSIVE")
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            time.sleep(120)
            """, database], standardOutput: .pipe)
        defer { holder.send(SIGKILL) }
        _ = holder.output!.availableData  // "locked": the lock is held
        let outcome = try await Self.serve(directory.path)
        holder.send(SIGKILL)
        await holder.wait()
        try Self.expectRefused(outcome, naming: database, saying: "locked by another process", database: database, digest: before)
    }

    @Test("a second server on a data directory in use: refused with the first one's pid")
    func inUse() async throws {
        let first = try ServerProcess()
        defer { first.directory.remove() }
        try await first.start()
        let outcome = try await Self.serve(first.directory.path)
        #expect(outcome.status != 0 && outcome.status != 124, "\(outcome.error)")
        #expect(outcome.error.contains("another arbiter process (pid \(first.process.pid)) is using this data directory"), "\(outcome.error)")
        #expect(first.process.isRunning, "the first server is untouched")
        #expect(await first.stop() == .exit(0))
    }

    @Test("a truncated database: refused, untouched")
    func truncated() async throws {
        let directory = try TemporaryDirectory("arbiter-truncated")
        defer { directory.remove() }
        try await Self.makeDatabase(in: directory.path)
        let database = directory.file("arbiter.sqlite")
        let size = try FileManager.default.attributesOfItem(atPath: database)[.size] as! Int
        #expect(size >= 4 * 4_096)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: database))
        try handle.truncate(atOffset: UInt64(size / 2 / 4_096 * 4_096))
        try handle.close()
        let before = try Self.digest(database)
        try Self.expectRefused(try await Self.serve(directory.path), naming: database, saying: "truncated", database: database, digest: before)
    }

    @Test("a crash in the middle of a checkpoint (the file shorter than its header, the rest in the log): starts, nothing lost")
    func crashDuringCheckpoint() async throws {
        let source = try TemporaryDirectory("arbiter-checkpoint-source")
        let crashed = try TemporaryDirectory("arbiter-checkpoint-crashed")
        defer { source.remove(); crashed.remove() }
        try await Self.makeDatabase(in: source.path)
        // Rows that grow the database, held in the write-ahead log only: the
        // connection stays open (a close would checkpoint them).
        let writer = try Database(path: source.file("arbiter.sqlite"))
        try writer.execute("PRAGMA wal_autocheckpoint = 0")
        try writer.execute("CREATE TABLE ballast (body BLOB)")
        try writer.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO ballast SELECT randomblob(3000) FROM n")
        for name in ["arbiter.sqlite", "arbiter.sqlite-wal"] {
            try FileManager.default.copyItem(atPath: source.file(name), toPath: crashed.file(name))
        }
        _ = writer
        // The checkpoint writes pages in order: page 1 (the header, with the
        // new page count) reaches the file first; the crash comes before the
        // pages past the file's end do.
        let log = try Data(contentsOf: URL(fileURLWithPath: crashed.file("arbiter.sqlite-wal")))
        let pageSize = 4_096
        var firstPage: Data?
        var offset = 32
        while offset + 24 + pageSize <= log.count {
            let page = log[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            if page == 1 { firstPage = Data(log[(offset + 24)..<(offset + 24 + pageSize)]) }
            offset += 24 + pageSize
        }
        let header = try #require(firstPage, "the log holds page 1")
        let claimed = header[28..<32].reduce(0) { $0 << 8 | Int($1) } * pageSize
        let database = crashed.file("arbiter.sqlite")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: database))
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: header)
        try handle.close()
        let size = try FileManager.default.attributesOfItem(atPath: database)[.size] as! Int
        #expect(claimed > size, "the header claims more than the file holds (\(claimed) > \(size))")

        let engine = try Engine.open(configuration: EngineConfiguration(dataDirectory: crashed.path), catalog: FirstPartyPlugins.catalog)
        let decision = try await engine.decide(tenant: "acme", experiment: "route")
        #expect(["a", "b", "c"].contains(decision.arm))
        await engine.shutdown()
        let reader = try Database(path: database, readOnly: true)
        #expect(try reader.scalar("SELECT count(*) FROM ballast") == 400, "every row of the log is there")
        #expect(try reader.scalar("SELECT count(*) FROM experiments") == 1)
    }

    @Test("random bytes written over a page of the database: refused, untouched")
    func overwrittenPage() async throws {
        let directory = try TemporaryDirectory("arbiter-damaged")
        defer { directory.remove() }
        try await Self.makeDatabase(in: directory.path)
        let database = directory.file("arbiter.sqlite")
        // The root page of the experiments table.
        let root = try Store(path: database, migrate: false).database.scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'experiments'")
        #expect(root > 1)
        var generator = SeedSequence(seed: 99)
        let noise = (0..<4_096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: database))
        try handle.seek(toOffset: UInt64((root - 1) * 4_096))
        try handle.write(contentsOf: noise)
        try handle.close()
        let before = try Self.digest(database)
        try Self.expectRefused(try await Self.serve(directory.path), naming: database, saying: "damaged", database: database, digest: before)
    }

    @Test("an unreadable database: refused, untouched")
    func unreadable() async throws {
        let directory = try TemporaryDirectory("arbiter-unreadable")
        defer { directory.remove() }
        try await Self.makeDatabase(in: directory.path)
        let database = directory.file("arbiter.sqlite")
        let before = try Self.digest(database)
        try FileManager.default.removeItem(atPath: directory.file("arbiter.lock"))
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: database)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: database) }
        // Root reads anything: the server runs as nobody (65534), in a
        // directory it may write (the lock file), on a file it may not read.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let outcome = try await Self.serve(directory.path, as: Self.isRoot ? 65_534 : nil)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: database)
        try Self.expectRefused(outcome, naming: database, saying: "cannot be read (permission denied)", database: database, digest: before)
    }

    @Test("a database of a newer schema than this build: refused, untouched")
    func newerSchema() async throws {
        let directory = try TemporaryDirectory("arbiter-newer")
        defer { directory.remove() }
        try await Self.makeDatabase(in: directory.path)
        let database = directory.file("arbiter.sqlite")
        try Store(path: database, migrate: false).database.execute("PRAGMA user_version = \(Schema.currentVersion + 1)")
        let before = try Self.digest(database)
        try Self.expectRefused(try await Self.serve(directory.path), naming: database,
                               saying: "schema version \(Schema.currentVersion + 1), newer than this build's \(Schema.currentVersion)",
                               database: database, digest: before)
    }

    @Test("a read-only data directory: refused, untouched")
    func readOnlyDirectory() async throws {
        let directory = try TemporaryDirectory("arbiter-readonly")
        defer { directory.remove() }
        try await Self.makeDatabase(in: directory.path)
        let database = directory.file("arbiter.sqlite")
        try FileManager.default.removeItem(atPath: directory.file("arbiter.lock"))
        let before = try Self.digest(database)
        // Read-only for root too: a read-only bind mount of the directory.
        try Command.run("/usr/bin/mount", ["--bind", directory.path, directory.path])
        defer { _ = try? Command.run("/usr/bin/umount", [directory.path]) }
        try Command.run("/usr/bin/mount", ["-o", "remount,bind,ro", directory.path])
        let outcome = try await Self.serve(directory.path)
        #expect(outcome.status != 0 && outcome.status != 124, "\(outcome.error)")
        #expect(outcome.error.contains(directory.path) && outcome.error.contains("not writable"), "\(outcome.error)")
        #expect(outcome.error.contains("make it writable"), "\(outcome.error)")
        #expect(try Self.digest(database) == before)
    }

    // MARK: While serving

    @Test("the disk full while feedback flows: 503 with Retry-After, decisions still served, nothing acknowledged lost, recovery by itself")
    func diskFull() async throws {
        let disk = try SmallDisk("arbiter-small-disk")
        defer { disk.remove() }
        let data = disk.file("data")
        let acknowledged = Mutex<[String]>([])
        try await TestServer.with(configure: {
            $0.dataDirectory = data
            $0.engine.maxLogBytes = 4 * 1_048_576
            $0.engine.decisionLogCapacity = 1_000
        }) { server in
            try await server.createExperiment("route", arms: ["a", "b", "c"])
            var round = 0
            /// One round of load: ten decisions, then feedback for them.
            func load() async throws -> (decide: Int, feedback: HTTPResult, accepted: Int) {
                round += 1
                let decided = try await server.post("/v1/experiments/route/decide", #"{"requests": [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}]}"#, key: server.key)
                let ids = (decided.json["decisions"] as? [[String: Any]] ?? []).compactMap { $0["decision_id"] as? String }
                let events = ids.enumerated().map { #"{"event_id": "r\#(round)-\#($0.offset)", "decision_id": "\#($0.element)", "reward": 1}"# }
                let feedback = try await server.post("/v1/feedback", #"{"events": [\#(events.joined(separator: ","))]}"#, key: server.key)
                var accepted: [String] = []
                if feedback.status == 200 {
                    accepted = (feedback.json["results"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "accepted" }
                        .compactMap { $0["event_id"] as? String }
                    acknowledged.withLock { $0 += accepted }
                }
                return (decided.status, feedback, accepted.count)
            }
            for _ in 0..<20 { #expect(try await load().accepted == 10) }

            // Fill the filesystem, and again whenever the server frees some
            // of it (a checkpoint shortening the log), to keep it full.
            try disk.fill()

            var refused: HTTPResult?
            var decisionsServed = 0
            for _ in 0..<400 where refused == nil {
                let (decide, feedback, _) = try await load()
                if decide == 200 { decisionsServed += 1 }
                if feedback.status == 503 { refused = feedback }
            }
            let refusal = try #require(refused, "feedback is refused once the disk is full")
            #expect(refusal.error["code"] as? String == "disk_full", "\(refusal.text)")
            #expect(refusal.headers["retry-after"] != nil)
            let decide = try await server.post("/v1/experiments/route/decide", "{}", key: server.key)
            #expect(decide.status == 200, "decisions are served from memory while the disk is full")
            #expect(decisionsServed > 0)
            // Decisions wait in memory to be written, up to the decision
            // log's capacity; past it they are refused too.
            var decisionRefusal: HTTPResult?
            for _ in 0..<3_000 where decisionRefusal == nil {
                let decided = try await server.post("/v1/experiments/route/decide", #"{"requests": [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}]}"#, key: server.key)
                if decided.status != 200 { decisionRefusal = decided }
                try disk.fill()
            }
            let held = try #require(decisionRefusal, "decisions are refused once 1,000 wait to be written")
            #expect(held.status == 503 && held.error["code"] as? String == "disk_full", "\(held.text)")

            // Space returns: feedback is accepted again, by itself.
            try disk.free()
            var recovered = false
            for _ in 0..<200 where !recovered {
                recovered = try await load().accepted == 10
                if !recovered { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(recovered, "writes resume once space returns")
            try await server.flush()
        }
        // Every acknowledged event is stored.
        let store = try Store(path: data + "/arbiter.sqlite", migrate: false)
        var stored = Set<String>()
        try store.forEachEvent(after: 0) { stored.insert($0.eventID) }
        let missing = acknowledged.withLock { $0 }.filter { !stored.contains($0) }
        #expect(acknowledged.withLock { $0.count } > 200)
        #expect(missing.isEmpty, "acknowledged but not stored: \(missing.prefix(3))")
    }
}
