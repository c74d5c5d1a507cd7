import Foundation
import FoundationNetworking
import Storage
import Synchronization
import Testing
import TestSupport

/// A running `arbiter serve` child process.
final class ServerProcess: @unchecked Sendable {
    private let arguments: [String]
    /// The child, once started.
    private(set) var process: ChildProcess!
    let directory: TemporaryDirectory
    private let log = Mutex("")
    private(set) var port = 0
    private(set) var key = ""

    init(extraArguments: [String] = [], pluginDirectory: String = TestPaths.buildDirectory) throws {
        directory = try TemporaryDirectory("arbiter-serve")
        arguments = ["serve", "--port", "0", "--data-dir", directory.path, "--plugin-dir", pluginDirectory] + extraArguments
    }

    var output: String { log.withLock { $0 } }

    /// Starts the server and waits until it listens.
    func start() async throws {
        // A start after a stop reads its own log (its port is a new one).
        log.withLock { $0 = "" }
        process = try ChildProcess(TestPaths.buildDirectory + "/arbiter", arguments, standardError: .pipe)
        process.errors!.readabilityHandler = { [self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            log.withLock { $0 += text }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            if let range = output.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(output[range].split(separator: ":").last!)!
                key = try String(contentsOfFile: directory.file("bootstrap-key"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestServer.Failure(message: "the server did not start: \(output)")
    }

    /// Stops the server with `signal` and waits for its end; what it
    /// printed is all in `output` then.
    func stop(_ signal: Int32 = SIGTERM) async -> ChildProcess.Termination {
        process.send(signal)
        let termination = await process.wait()
        process.errors!.readabilityHandler = nil
        let rest = String(decoding: process.errors!.readDataToEndOfFile(), as: UTF8.self)
        log.withLock { $0 += rest }
        return termination
    }

    /// Sends a PATCH and returns its status.
    func post(patch path: String, _ body: String) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "PATCH"
        request.httpBody = Data(body.utf8)
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as! HTTPURLResponse).statusCode
    }

    func post(_ path: String, _ body: String) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }
}

/// The load's shared state: event ids the server acknowledged as accepted,
/// and the flag that stops the senders.
final class Acknowledged: Sendable {
    let ids = Mutex<[String]>([])
    let stop = Atomic<Bool>(false)
}

@Suite("Lifecycle: SIGTERM or SIGINT under load loses nothing acknowledged", .serialized)
struct LifecycleTests {
    @Test("the server drains, saves every strategy and exits 0 on the signal; every acknowledged event is stored",
          arguments: [SIGTERM, SIGINT])
    func signalUnderLoad(signal: Int32) async throws {
        let server = try ServerProcess()
        defer { server.directory.remove() }
        try await server.start()
        let (created, _) = try await server.post("/v1/experiments", #"{"key": "load", "arms": ["a", "b", "c"]}"#)
        #expect(created == 201)

        let acknowledged = Acknowledged()
        let senders = (0..<4).map { sender in
            Task {
                var round = 0
                while !acknowledged.stop.load(ordering: .relaxed) {
                    round += 1
                    do {
                        let requests = Array(repeating: "{}", count: 25).joined(separator: ",")
                        let (status, body) = try await server.post("/v1/experiments/load/decide", #"{"requests": [\#(requests)]}"#)
                        guard status == 200, let decisions = body["decisions"] as? [[String: Any]] else { continue }
                        let ids = decisions.compactMap { $0["decision_id"] as? String }
                        let events = ids.enumerated().map { #"{"event_id": "s\#(sender)-r\#(round)-\#($0.offset)", "decision_id": "\#($0.element)", "reward": 1}"# }
                        let (feedbackStatus, result) = try await server.post("/v1/feedback", #"{"events": [\#(events.joined(separator: ","))]}"#)
                        guard feedbackStatus == 200, let results = result["results"] as? [[String: Any]] else { continue }
                        let accepted = results.filter { $0["status"] as? String == "accepted" }.compactMap { $0["event_id"] as? String }
                        acknowledged.ids.withLock { $0 += accepted }
                    } catch {
                        // Refused or disconnected once shutdown began: such events were never acknowledged.
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                }
            }
        }
        // Signal once the load is well under way (a loaded test machine may be slow to start it).
        let deadline = ContinuousClock.now + .seconds(60)
        while acknowledged.ids.withLock({ $0.count }) < 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        let acknowledgedBeforeSignal = acknowledged.ids.withLock { $0.count }
        let termination = await server.stop(signal)
        acknowledged.stop.store(true, ordering: .relaxed)
        for sender in senders { _ = await sender.result }

        #expect(termination == .exit(0), "\(server.output.suffix(2_000))")
        #expect(acknowledgedBeforeSignal > 0, "load was running when the signal came")
        #expect(server.output.contains("engine stopped"))

        let store = try Store(path: server.directory.file("arbiter.sqlite"), migrate: false)
        var stored = Set<String>()
        try store.forEachEvent(after: 0) { stored.insert($0.eventID) }
        let missing = acknowledged.ids.withLock { $0 }.filter { !stored.contains($0) }
        #expect(missing.count == 0, "acknowledged but not stored, e.g. \(missing.prefix(3))")
        let strategy = try #require(try store.strategies().first)
        let active = try #require(try store.activeVersion(strategyID: strategy.id))
        let lastEvent = try store.lastEventID()
        #expect(active.watermark == lastEvent, "the shutdown save covers every stored event")
    }
}
