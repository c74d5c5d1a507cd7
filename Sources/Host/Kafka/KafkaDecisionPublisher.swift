internal import CRdKafka
public import Engine
internal import JSON
public import Logging
public import ServiceLifecycle
internal import Synchronization

/// Publishes every decision to the decisions topic once it is stored: id,
/// tenant, experiment, strategy and its version, arm, propensity, traffic
/// share, seed, eligible arms, unit and time, as JSON keyed by the
/// experiment (so one experiment's decisions keep their order). It follows
/// the engine's decision feed, on the writer's thread after each batch,
/// off the decision path; librdkafka queues and sends. When its queue is full
/// a decision is counted as dropped rather than waited for.
public final class KafkaDecisionPublisher: Service, Sendable {
    private let producer: Mutex<OpaquePointer?>
    private let topic: String
    private let logger: Logger
    private let counts = Mutex<(published: Int, dropped: Int)>((0, 0))

    public init(configuration: KafkaConfiguration, engine: Engine, logger: Logger) throws {
        producer = Mutex(try KafkaClient.producer(configuration, [("linger.ms", "5"), ("compression.codec", "lz4")]))
        topic = configuration.decisionsTopic
        self.logger = logger
        engine.decisionFeed.follow { [weak self] decisions in self?.publish(decisions) }
    }

    /// Decisions published and dropped (the producer's queue was full).
    public var published: (published: Int, dropped: Int) { counts.withLock { $0 } }

    func publish(_ decisions: [PublishedDecision]) {
        var published = 0, dropped = 0
        producer.withLock { producer in
            guard let producer else { return }
            for decision in decisions {
                var writer = JSONWriter(capacity: 320)
                writer.object { w in
                    w.key("decision_id"); w.string(decision.decisionID)
                    w.key("tenant"); w.string(decision.tenant)
                    w.key("experiment"); w.string(decision.experiment)
                    w.key("strategy"); w.string(decision.strategy)
                    w.key("strategy_version"); w.integer(decision.strategyVersion)
                    w.key("arm"); w.string(decision.arm)
                    w.key("propensity"); w.number(decision.propensity)
                    w.key("traffic_share"); w.number(decision.trafficShare)
                    w.key("seed"); w.integerString(decision.seed)
                    w.key("eligible_arms"); w.array(decision.eligible) { w, arm in w.string(arm) }
                    w.key("unit_id"); w.string(decision.unitID)
                    w.key("fallback"); w.string(decision.fallback)
                    w.key("created_at"); w.timestamp(decision.createdAt)
                }
                let key = Array(decision.experiment.utf8)
                let status = writer.withUnsafeBytes { bytes in
                    key.withUnsafeBytes { keyBytes in
                        crdkafka_produce(producer, topic, bytes.baseAddress, bytes.count, keyBytes.baseAddress, keyBytes.count)
                    }
                }
                if status == RD_KAFKA_RESP_ERR_NO_ERROR { published += 1 } else { dropped += 1 }
            }
            rd_kafka_poll(producer, 0)
        }
        if dropped > 0 { logger.warning("kafka: \(dropped) decisions not published: the producer's queue is full") }
        counts.withLock { $0.published += published; $0.dropped += dropped }
    }

    public func run() async throws {
        // Started before the engine, stopped after it: the decisions the
        // engine writes while it drains are published too.
        try? await gracefulShutdown()
        producer.withLock { producer in
            guard let handle = producer else { return }
            let left = rd_kafka_flush(handle, 10_000)
            if left != RD_KAFKA_RESP_ERR_NO_ERROR { logger.warning("kafka: decisions still queued at shutdown were not all delivered") }
            rd_kafka_destroy(handle)
            producer = nil
        }
    }
}
