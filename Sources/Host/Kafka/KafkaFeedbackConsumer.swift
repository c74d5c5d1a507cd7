internal import CRdKafka
internal import Dispatch
public import Engine
internal import FoundationEssentials
public import JSON
public import Logging
public import ServiceLifecycle
internal import PluginHost
internal import Storage
internal import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Consumes feedback from Kafka in micro-batches into the engine's write
/// pipeline, as a service beside the HTTP server.
///
/// Exactly once: the next offset of each partition is stored in SQLite in
/// the same transaction as the feedback batch its messages went into, and on
/// every partition assignment the consumer starts from the stored offsets,
/// whatever Kafka's committed offsets say (they are committed too, for lag
/// monitoring only). A message that is not feedback (not JSON, wrong fields,
/// an unknown tenant or decision) is counted, logged, sent to the dead-letter
/// topic when there is one, and skipped; it never stops the consumer. When
/// the pipeline is full the consumer waits and tries the batch again.
///
/// librdkafka's calls block, so the consumer runs on a thread of its own;
/// graceful shutdown finishes the batch in flight, stores it with its
/// offsets, and leaves the group.
public final class KafkaFeedbackConsumer: Service, Sendable {
    let configuration: KafkaConfiguration
    let engine: Engine
    let logger: Logger
    let statistics = Mutex(KafkaStatistics())
    private let stopping = Atomic<Bool>(false)

    public init(configuration: KafkaConfiguration, engine: Engine, logger: Logger) {
        self.configuration = configuration
        self.engine = engine
        self.logger = logger
    }

    /// What the consumer has done, for status and metrics.
    public var status: KafkaStatistics {
        statistics.withLock { $0 }
    }

    public func run() async throws {
        let client = try KafkaClient(configuration: configuration, consumer: self)
        let finished = AsyncStream<Void>.makeStream()
        // A queue of its own: librdkafka's calls block, and must not hold
        // one of Swift concurrency's few shared threads.
        DispatchQueue(label: "arbiter.kafka-consumer").async { [self] in
            pollLoop(client)
            finished.continuation.yield()
            finished.continuation.finish()
        }
        await withGracefulShutdownHandler {
            for await _ in finished.stream { break }
        } onGracefulShutdown: { [self] in
            logger.info("kafka: finishing the batch in flight, then leaving the group")
            stopping.store(true, ordering: .releasing)
        }
        client.close()
        logger.info("kafka consumer stopped")
    }

    /// Polls, cuts batches, parses and checks them, hands them to the
    /// engine; until stopped. Up to two batches are in the engine's hands
    /// while the next is polled and parsed; `BatchSubmitter` keeps them in
    /// order (offsets are stored in order, and a batch the engine did not
    /// store is tried again before any later one).
    private func pollLoop(_ client: KafkaClient) {
        var batch: [KafkaClient.Message] = []
        // Read from the coarse clock (a few ms of resolution): the precise
        // one, read twice a message, took a fifth of this thread's time.
        var batchStarted = CoarseClock.milliseconds()
        var watermarksRead = batchStarted
        let batchWait = configuration.batchWait.nanoseconds / 1_000_000
        let bookkeeper = DispatchQueue(label: "arbiter.kafka-bookkeeping")
        let submitter = BatchSubmitter(
            engine: engine, depth: 2, isStopping: { [self] in stopping.load(ordering: .acquiring) },
            retried: { [self] error in
                statistics.withLock { $0.retries += 1 }
                logger.debug("kafka: batch not taken (\(error)); trying again")
            },
            log: { [logger] message in logger.warning("\(message)") },
            finished: { [self] prepared, outcomes in
                bookkeeper.async { [self] in account(prepared, outcomes: outcomes, client: client) }
            })
        while !stopping.load(ordering: .acquiring) {
            let now = CoarseClock.milliseconds()
            if now - watermarksRead > 1_000 {
                watermarksRead = now
                let assigned = statistics.withLock { $0.assigned }
                let marks = assigned.compactMap { key in client.highWatermark(of: key).map { (key, $0) } }
                statistics.withLock { statistics in
                    for (key, mark) in marks { statistics.highWatermarks[key] = mark }
                }
            }
            if let message = client.poll(milliseconds: 50) {
                // The wait for a batch to fill starts with its first message.
                if batch.isEmpty { batchStarted = CoarseClock.milliseconds() }
                batch.append(message)
            }
            if !batch.isEmpty, batch.count >= configuration.batchSize || CoarseClock.milliseconds() - batchStarted >= batchWait {
                submitter.hand(prepare(batch, client: client))
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { submitter.hand(prepare(batch, client: client)) }
        // The last batch stored and accounted for.
        submitter.finish()
        bookkeeper.sync {}
    }

    /// A polled batch, parsed and checked as far as it can be without the
    /// database: consecutive events of one tenant grouped into one
    /// submission each, with the offsets they reach.
    struct PreparedBatch: Sendable {
        struct Group: Sendable {
            var tenant: String?
            var messages: [KafkaClient.Message] = []
            var events: [FeedbackEvent] = []
            var feedback: Engine.PreparedFeedback?
            var offsets: [KafkaOffset] = []
        }
        var groups: [Group] = []
        var messages: [KafkaClient.Message] = []
        var malformed = 0
    }

    /// Parses a batch: messages in order, consecutive ones of a tenant
    /// together with the offsets they reach, malformed ones dead-lettered
    /// and skipped (their offsets stored with the next group, or alone).
    private func prepare(_ batch: [KafkaClient.Message], client: KafkaClient) -> PreparedBatch {
        var prepared = PreparedBatch(messages: batch)
        var reached: [PartitionKey: Int64] = [:]
        var group = PreparedBatch.Group()

        func close() {
            guard !group.events.isEmpty || !reached.isEmpty else { return }
            group.offsets = reached.map { KafkaOffset(topic: $0.key.topic, partition: $0.key.partition, next: $0.value) }
            group.feedback = engine.prepareFeedback(group.events)
            group.events = []
            prepared.groups.append(group)
            group = PreparedBatch.Group()
            reached.removeAll()
        }

        for message in batch {
            let key = PartitionKey(topic: message.topic, partition: message.partition)
            do throws(FeedbackMessage.Malformed) {
                let parsed = try FeedbackMessage(bytes: message.payload, defaultTenant: configuration.defaultTenant)
                guard engine.tenant(named: parsed.tenant) != nil else {
                    throw FeedbackMessage.Malformed(description: "unknown tenant '\(parsed.tenant.prefix(64))'")
                }
                if let tenant = group.tenant, tenant != parsed.tenant { close() }
                group.tenant = parsed.tenant
                group.messages.append(message)
                group.events.append(parsed.event)
            } catch {
                prepared.malformed += 1
                deadLetter(message, reason: error.description, client: client)
            }
            reached[key] = message.offset + 1
        }
        close()
        return prepared
    }

    /// What follows a stored batch: feedback the engine refused (an unknown
    /// decision, an invalid value) dead-lettered like a malformed message,
    /// the offsets committed to Kafka (for lag monitoring), the figures.
    private func account(_ prepared: PreparedBatch, outcomes: [[FeedbackOutcome]], client: KafkaClient) {
        for (group, outcomes) in zip(prepared.groups, outcomes) {
            for (message, outcome) in zip(group.messages, outcomes) where outcome.status == .rejected {
                deadLetter(message, reason: outcome.reason ?? "refused", client: client)
            }
            client.commit(group.offsets)
            statistics.withLock { statistics in
                for offset in group.offsets {
                    statistics.committed[PartitionKey(topic: offset.topic, partition: offset.partition)] = offset.next
                }
            }
        }
        guard outcomes.count == prepared.groups.count else { return }
        // From each message's production to its batch applied: the
        // event-to-model latency as the producer sees it.
        let appliedAt = Store.now()
        // Each group holds the offsets its messages reach: the later the group, the further.
        let positions = prepared.groups.flatMap(\.offsets)
        statistics.withLock { statistics in
            for message in prepared.messages {
                if let produced = message.timestamp { statistics.recentMessageToModel.record(Double(max(0, appliedAt - produced)) / 1_000) }
            }
            statistics.messages += prepared.messages.count
            statistics.rate.record(prepared.messages.count, at: ContinuousClock.now)
            statistics.malformed += prepared.malformed
            statistics.lastMessageAt = .now
            for offset in positions {
                statistics.positions[PartitionKey(topic: offset.topic, partition: offset.partition)] = offset.next
            }
        }
    }

    private func deadLetter(_ message: KafkaClient.Message, reason: String, client: KafkaClient) {
        logger.warning("kafka: message at \(message.topic)/\(message.partition)@\(message.offset) skipped: \(reason)")
        guard !configuration.deadLetterTopic.isEmpty else { return }
        if client.produce(topic: configuration.deadLetterTopic, payload: message.payload, key: Array("\(message.topic)/\(message.partition)@\(message.offset)".utf8)) {
            statistics.withLock { $0.deadLettered += 1 }
        }
    }

    /// The offsets to start each assigned partition from: the stored ones.
    func storedOffsets() -> [PartitionKey: Int64] {
        do {
            return Dictionary(try engine.kafkaOffsets().map { (PartitionKey(topic: $0.topic, partition: $0.partition), $0.next) },
                              uniquingKeysWith: { _, last in last })
        } catch {
            logger.error("kafka: the stored offsets cannot be read (\(error)); starting from Kafka's committed offsets")
            return [:]
        }
    }

    /// An eager rebalance's assignment: these partitions and no others.
    func assigned(replacing partitions: [PartitionKey]) {
        statistics.withLock { $0.assigned = partitions.sorted() }
        logger.info("kafka: assigned \(partitions.sorted().map(\.description).joined(separator: ", "))")
    }

    /// A cooperative rebalance's assignment: these partitions besides those held.
    func assigned(adding partitions: [PartitionKey]) {
        statistics.withLock { $0.assigned = Array(Set($0.assigned).union(partitions)).sorted() }
        logger.info("kafka: assigned \(partitions.sorted().map(\.description).joined(separator: ", ")) besides those held")
    }

    /// A cooperative rebalance's revocation: these partitions go, the others stay.
    func revoked(_ partitions: [PartitionKey]) {
        statistics.withLock { $0.assigned = Array(Set($0.assigned).subtracting(partitions)).sorted() }
        logger.info("kafka: revoked \(partitions.sorted().map(\.description).joined(separator: ", "))")
    }

    func connection(_ state: String) {
        statistics.withLock { $0.state = state }
    }
}

/// The monotonic clock at the resolution of the kernel's tick, read without
/// the cost of the precise one: enough to cut batches every few milliseconds.
enum CoarseClock {
    static func milliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// One partition of one topic.
public struct PartitionKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public static func < (lhs: PartitionKey, rhs: PartitionKey) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// What the consumer has done.
public struct KafkaStatistics: Sendable {
    public var state = "starting"
    public var assigned: [PartitionKey] = []
    /// The next offset of each partition consumed so far.
    public var positions: [PartitionKey: Int64] = [:]
    /// The offsets last committed to Kafka (asynchronously, for lag
    /// monitoring: SQLite's stored offsets are the ones that count).
    public var committed: [PartitionKey: Int64] = [:]
    /// Messages applied per second, over the last ten seconds.
    public var rate = MessageRate()
    public var messages = 0
    public var malformed = 0
    public var deadLettered = 0
    /// Batches the engine did not take at once (a full queue, a full disk).
    public var retries = 0
    /// Each assigned partition's high watermark, as last seen (for the lag).
    public var highWatermarks: [PartitionKey: Int64] = [:]
    public var lastMessageAt: ContinuousClock.Instant?
    /// Of recent messages, seconds from their production (CreateTime) to
    /// their batch being stored and applied.
    public var recentMessageToModel = SlidingWindow<Double>(capacity: 4_096)
}

/// Messages counted per second over the last ten seconds.
public struct MessageRate: Sendable {
    private var seconds: [(second: Int64, count: Int)] = []
    private static let origin = ContinuousClock.now

    private static func second(_ instant: ContinuousClock.Instant) -> Int64 {
        (instant - origin).components.seconds
    }

    mutating func record(_ count: Int, at instant: ContinuousClock.Instant) {
        let second = Self.second(instant)
        if let last = seconds.last, last.second == second {
            seconds[seconds.count - 1].count += count
        } else {
            seconds.append((second, count))
        }
        seconds.removeAll { $0.second < second - 10 }
    }

    /// The mean over the ten whole seconds before `instant`.
    public func perSecond(at instant: ContinuousClock.Instant = .now) -> Double {
        let now = Self.second(instant)
        return Double(seconds.filter { $0.second >= now - 10 && $0.second < now }.reduce(0) { $0 + $1.count }) / 10
    }
}

extension KafkaFeedbackConsumer {
    /// The consumer's state as `/api/learning/status` shows it: the
    /// connection, the assigned partitions with their stored and consumed
    /// offsets, the counts, and the time since the last message.
    public var statusJSON: JSONValue {
        let status = self.status
        let stored = Dictionary((try? engine.kafkaOffsets())?.map { (PartitionKey(topic: $0.topic, partition: $0.partition), $0.next) } ?? [],
                                uniquingKeysWith: { _, last in last })
        let keys = Set(status.assigned).union(stored.keys).sorted()
        var members: [String: JSONValue] = [
            "enabled": .bool(true),
            "state": .string(status.state),
            "brokers": .string(configuration.brokers),
            "topics": .array(configuration.topics.map(JSONValue.string)),
            "group_id": .string(configuration.groupID),
            "messages": .number(Double(status.messages)),
            "messages_per_second": .number(status.rate.perSecond()),
            "malformed": .number(Double(status.malformed)),
            "dead_lettered": .number(Double(status.deadLettered)),
            "retries": .number(Double(status.retries)),
            "partitions": .array(keys.map { key in
                .object([
                    "topic": .string(key.topic),
                    "partition": .number(Double(key.partition)),
                    "assigned": .bool(status.assigned.contains(key)),
                    "stored_offset": stored[key].map { .number(Double($0)) } ?? .null,
                    "consumed_offset": status.positions[key].map { .number(Double($0)) } ?? .null,
                    "committed_offset": status.committed[key].map { .number(Double($0)) } ?? .null,
                    // Messages in the partition not yet stored as applied.
                    "lag": status.highWatermarks[key].map { .number(Double(max(0, $0 - (stored[key] ?? 0)))) } ?? .null,
                ])
            }),
        ]
        let latencies = status.recentMessageToModel
        members["message_to_model_ms"] = .object([
            "p50": latencies.quantile(0.5).map { .number($0 * 1_000) } ?? .null,
            "p99": latencies.quantile(0.99).map { .number($0 * 1_000) } ?? .null,
            "max": latencies.values.max().map { .number($0 * 1_000) } ?? .null,
            "window": .number(Double(latencies.values.count)),
        ])
        if let last = status.lastMessageAt {
            let elapsed = ContinuousClock.now - last
            members["seconds_since_last_message"] = .number(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        } else {
            members["seconds_since_last_message"] = .null
        }
        return .object(members)
    }
}
