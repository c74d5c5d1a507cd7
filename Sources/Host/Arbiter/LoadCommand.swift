import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import PluginHost
import Storage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `arbiter load`: drives the engine with synthetic decisions and feedback.
/// It is the benchmark of durable ingestion and event-to-model latency, and
/// the child process the crash-safety test kills.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive the engine with synthetic decisions and feedback (benchmarks, crash tests).",
        discussion: """
            throughput: decides --events decisions first, then times the feedback for them, \
            --submission events per request with --concurrency requests in flight. \
            latency: sends --rate events/s in requests of --submission events for --seconds and \
            reports the time from sending an event to its learning being applied (p50, p99). \
            creation: makes --events decisions, each on an experiment of --arms arms created on first use \
            (--concurrency at a time), without HTTP. \
            With --events 0 it runs until killed; --print-acks prints "ACK <prefix> <first> <count>" \
            for every acknowledged request.
            """
    )

    enum Mode: String, ExpressibleByArgument { case throughput, latency, creation }

    @OptionGroup var data: DataOptions
    @OptionGroup var plugins: PluginOptions

    @Option(help: "throughput or latency.")
    var mode: Mode = .throughput
    @Option(help: "Feedback events to send (0: until killed).")
    var events = 200_000
    @Option(help: "Events per feedback request.")
    var submission = 1_000
    @Option(help: "Feedback requests in flight.")
    var concurrency = 4
    @Option(help: "Throughput mode: decisions made (untimed) before their feedback is timed.")
    var round = 100_000
    @Option(help: "Latency mode: events per second.")
    var rate = 5_000
    @Option(help: "Latency mode: seconds to run.")
    var seconds = 10.0
    @Option(help: "Arms of the experiment.")
    var arms = 10
    @Option(help: "Strategy plugin of the experiment.")
    var strategy = TenantRecord.initialDefaultStrategy
    @Option(help: "Prefix of the event ids (unique per run).")
    var eventPrefix: String?
    @Option(name: .customLong("event-ids"), help: "Event ids: counter (the prefix and a counter), uuid4 (random, as many clients send) or uuid7 (time-ordered).")
    var eventIDs: EventIDForm = .counter
    @Option(name: .customLong("batch-max-size"), help: "Micro-batch: most events per transaction.")
    var batchMaxSize: Int?
    @Option(name: .customLong("batch-max-wait-ms"), help: "Micro-batch: longest wait for a batch to fill, in milliseconds.")
    var batchMaxWait: Double?
    @Option(name: .customLong("snapshot-every"), help: "Save a version every N events.")
    var snapshotEvery: Int?
    @Flag(help: "Print ACK lines for acknowledged requests.")
    var printAcks = false

    func run() async throws {
        var configuration = try data.engineConfiguration()
        if let batchMaxSize { configuration.batchMaxSize = batchMaxSize }
        if let batchMaxWait { configuration.batchMaxWait = .microseconds(Int64(batchMaxWait * 1000)) }
        if let snapshotEvery { configuration.snapshotEveryEvents = snapshotEvery }
        var logger = Logger(label: "arbiter.load")
        logger.logLevel = .warning
        let engine = try Engine.open(configuration: configuration, catalog: plugins.load(), logger: logger)
        let tenant = try await engine.ensureTenant("load").name
        let key = "load-\(strategy)-\(arms)"
        if (try? engine.experiment(tenant: tenant, key: key)) == nil {
            _ = try await engine.createExperiment(tenant: tenant, ExperimentDefinition(
                key: key, arms: (0..<arms).map { "arm-\($0)" }, strategies: [StrategySetup(plugin: strategy)]))
        }
        let prefix = eventPrefix ?? "run\(UInt32.random(in: 0...UInt32.max))"
        let driver = LoadDriver(engine: engine, tenant: tenant, experiment: key, prefix: prefix, eventIDs: eventIDs,
                                printAcks: printAcks)
        switch mode {
        case .throughput: try await driver.throughput(events: events, submission: submission, concurrency: concurrency, round: round)
        case .latency: try await driver.latency(rate: rate, submission: submission, seconds: seconds)
        case .creation: try await driver.creation(count: events, arms: arms, concurrency: concurrency)
        }
        await engine.shutdown()
    }
}

/// How the load generator names its events: the duplicate index
/// (`event_ids`) takes increasing ids at its right edge, random ones each on
/// another page (Docs/troubleshooting.md).
enum EventIDForm: String, ExpressibleByArgument, Sendable {
    case counter, uuid4, uuid7

    /// A version 7 UUID (RFC 9562): the Unix time in milliseconds, then random bits.
    static func uuid7() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let milliseconds = UInt64(Date().timeIntervalSince1970 * 1_000)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - i))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }.uuidString
    }
}

/// The synthetic workload: arm i pays 1 with probability (i + 1) / (arms + 1).
struct LoadDriver: Sendable {
    let engine: Engine
    let tenant: String
    let experiment: String
    let prefix: String
    let eventIDs: EventIDForm
    let printAcks: Bool

    /// Makes `count` decisions and returns their feedback events, numbered
    /// from `first`. When the decision log is behind, waits and retries, as a
    /// well-behaved client does.
    func decide(_ count: Int, first: Int) async throws -> [FeedbackEvent] {
        var events: [FeedbackEvent] = []
        events.reserveCapacity(count)
        while events.count < count {
            let decision: DecisionResult
            do {
                decision = try await engine.decide(tenant: tenant, experiment: experiment)
            } catch .overloaded {
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            var seed = SeedSequence(seed: decision.seed)
            let p = Double(decision.armIndex + 1) / 11
            let eventID = switch eventIDs {
            case .counter: "\(prefix)-\(first + events.count)"
            case .uuid4: UUID().uuidString
            case .uuid7: EventIDForm.uuid7()
            }
            events.append(FeedbackEvent(eventID: eventID, decisionID: decision.decisionID,
                                        reward: SeedSequence.unit(seed.next()) < p ? 1 : 0))
        }
        return events
    }

    func send(_ events: [FeedbackEvent], first: Int) async throws {
        let outcomes = try await engine.recordFeedback(tenant: tenant, events)
        let accepted = outcomes.filter { $0.status == .accepted }.count
        guard accepted == events.count else {
            throw CommandFailure("only \(accepted) of \(events.count) events accepted: \(outcomes.first { $0.status != .accepted }!)")
        }
        if printAcks {
            print("ACK \(prefix) \(first) \(events.count)")
            fflushStandardOutput()
        }
    }

    func throughput(events: Int, submission: Int, concurrency: Int, round: Int) async throws {
        if events == 0 {
            // Until killed: decide and send, request after request.
            var next = 0
            while true {
                try await send(try await decide(submission, first: next), first: next)
                next += submission
            }
        }
        // In rounds: decide a round's decisions (untimed, letting the decision
        // log drain), then time the feedback for them alone. A round fits the
        // engine's recent-decision cache, as feedback soon after its decision does.
        var elapsed = Duration.zero
        var first = 0
        while first < events {
            var requests: [(Int, [FeedbackEvent])] = []
            let roundEnd = min(events, first + round)
            while first < roundEnd {
                let count = min(submission, roundEnd - first)
                requests.append((first, try await decide(count, first: first)))
                first += count
            }
            while engine.statistics.queuedDecisions > 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                var iterator = requests.makeIterator()
                for _ in 0..<max(1, concurrency) {
                    guard let (first, batch) = iterator.next() else { break }
                    group.addTask { try await send(batch, first: first) }
                }
                while try await group.next() != nil {
                    guard let (first, batch) = iterator.next() else { continue }
                    group.addTask { try await send(batch, first: first) }
                }
            }
            elapsed += start.duration(to: .now)
        }
        let seconds = elapsed.seconds
        let statistics = engine.statistics
        print("throughput: \(events) events in \(String(format3(seconds))) s = \(Int(Double(events) / seconds)) events/s, "
              + "\(statistics.batches) batches, durability \(engine.configuration.durability.rawValue)")
    }

    func creation(count: Int, arms: Int, concurrency: Int) async throws {
        let names = (0..<arms).map { "a\($0)" }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<max(1, concurrency) {
                group.addTask {
                    for index in stride(from: worker, to: count, by: max(1, concurrency)) {
                        _ = try await engine.decideCreatingOnFirstUse(tenant: tenant, experiment: "\(prefix)-\(index)", arms: names, DecisionRequest())
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = start.duration(to: .now).seconds
        print("creation: \(count) experiments of \(arms) arms created on first use in \(format3(seconds)) s = \(Int(Double(count) / seconds))/s")
    }

    func latency(rate: Int, submission: Int, seconds: Double) async throws {
        let interval = Duration.seconds(Double(submission) / Double(rate))
        let end = ContinuousClock.now + .seconds(seconds)
        let latencies = LatencyLog()
        var next = 0
        var tick = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            while tick < end {
                let events = try await decide(submission, first: next)
                let first = next
                next += submission
                group.addTask {
                    let sent = ContinuousClock.now
                    try await send(events, first: first)
                    let latency = sent.duration(to: .now)
                    let value = latency.seconds
                    latencies.values.withLock { $0.append(value) }
                }
                tick += interval
                try await Task.sleep(until: tick, clock: .continuous)
            }
            try await group.waitForAll()
        }
        let sorted = latencies.values.withLock { $0 }.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] * 1000 }
        print("latency: \(next) events at \(rate)/s in requests of \(submission): event-to-model p50 \(format3(quantile(0.5))) ms, "
              + "p99 \(format3(quantile(0.99))) ms, max \(format3(sorted.last! * 1000)) ms")
    }
}

/// Latencies gathered by concurrent requests.
final class LatencyLog: Sendable {
    let values = Mutex<[Double]>([])
}

/// Flushes standard output, so a parent reading it sees every line at once.
func fflushStandardOutput() {
    fflush(nil)
}

func format3(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
}
