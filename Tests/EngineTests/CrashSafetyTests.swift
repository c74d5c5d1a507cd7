import Engine
import Foundation
import PluginHost
import Storage
import Synchronization
import Testing
import TestSupport

/// Lines a child process printed, gathered as they arrive.
final class OutputLines: Sendable {
    private let state = Mutex<(buffer: String, lines: [String])>(("", []))

    func append(_ data: Data) {
        state.withLock { state in
            state.buffer += String(decoding: data, as: UTF8.self)
            while let newline = state.buffer.firstIndex(of: "\n") {
                state.lines.append(String(state.buffer[..<newline]))
                state.buffer.removeSubrange(...newline)
            }
        }
    }

    var lines: [String] { state.withLock { $0.lines } }
}

@Suite("Crash safety: SIGKILL at random moments loses no acknowledged event", .serialized)
struct CrashSafetyTests {
    static let kills = 24

    @Test("every acknowledged event is stored exactly once, and the restored state equals a replay of the stored events")
    func killRepeatedly() async throws {
        let directory = try TemporaryDirectory("arbiter-crash")
        defer { directory.remove() }
        let executable = TestPaths.buildDirectory + "/arbiter"
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build the arbiter executable first")
        var delays = SeedSequence(seed: 2026)
        var acknowledged: [String] = []

        for run in 0..<Self.kills {
            let output = OutputLines()
            let process = try ChildProcess(executable, [
                "load", "--data-dir", directory.path, "--plugin-dir", TestPaths.buildDirectory,
                "--events", "0", "--submission", "40", "--print-acks", "--event-prefix", "run\(run)",
                "--snapshot-every", "300", "--arms", "4",
            ], standardOutput: .pipe)
            let pipe = process.output!
            pipe.readabilityHandler = { output.append($0.availableData) }

            // Kill at a random moment once the child has acknowledged something.
            let deadline = ContinuousClock.now + .seconds(30)
            while output.lines.isEmpty, ContinuousClock.now < deadline, process.isRunning {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(Int(delays.next() % 300)))
            process.send(SIGKILL)
            let termination = await process.wait()
            pipe.readabilityHandler = nil
            output.append(pipe.readDataToEndOfFile())
            #expect(termination == .signal(SIGKILL), "run \(run) was killed, not finished")

            for line in output.lines {
                let parts = line.split(separator: " ")
                guard parts.count == 4, parts[0] == "ACK", let first = Int(parts[2]), let count = Int(parts[3]) else { continue }
                acknowledged += (first..<first + count).map { "\(parts[1])-\($0)" }
            }
            try await verify(dataDirectory: directory.path, acknowledged: acknowledged, run: run)
        }
        #expect(acknowledged.count > Self.kills * 40, "every run acknowledged feedback before it was killed")
    }

    /// Checks the database a killed child left.
    func verify(dataDirectory: String, acknowledged: [String], run: Int) async throws {
        let store = try Store(path: dataDirectory + "/arbiter.sqlite", migrate: false)
        var stored: [String: Int] = [:]
        var lineageEvents: [Int64: [FeedbackRecord]] = [:]
        try store.forEachEvent(after: 0) { event in
            stored[event.eventID, default: 0] += 1
            lineageEvents[event.strategyID, default: []].append(FeedbackRecord(arm: UInt32(event.arm), reward: event.reward, weight: event.weight))
        }
        let missing = acknowledged.filter { stored[$0] == nil }
        #expect(missing.count == 0, "run \(run): acknowledged events missing, e.g. \(missing.prefix(5))")
        #expect(stored.values.allSatisfy { $0 == 1 }, "run \(run): an event is stored twice")

        // Restore as the host does (latest version + replay) and compare with
        // a replay of every stored event from an empty state.
        var configuration = EngineConfiguration(dataDirectory: dataDirectory)
        configuration.snapshotEveryEvents = 1_000_000
        let engine = try Engine.open(configuration: configuration, catalog: FirstPartyPlugins.catalog)
        let experiment = try engine.experiment(tenant: "load", key: "load-thompson-4")
        let restored = try engine.currentState(tenant: "load", experiment: experiment.key, strategy: "thompson")
        let strategyID = try #require(store.strategies().first { $0.name == "thompson" }?.id)
        let replay = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 4)
        try replay.update(lineageEvents[strategyID] ?? [])
        #expect(try replay.serialize() == restored, "run \(run): the restored state differs from a replay of the stored events")
        #expect(experiment.strategies[0].appliedThrough == (try store.lastEventID()))
        await engine.shutdown()
    }
}
