/// Where feedback comes from on Kafka, and how to reach it. Off unless
/// `brokers` is set.
public struct KafkaConfiguration: Sendable, Equatable {
    /// `bootstrap.servers`: host:port,...; empty turns the consumer off.
    public var brokers = ""
    /// The topics of feedback messages.
    public var topics: [String] = ["arbiter-feedback"]
    /// The consumer group.
    public var groupID = "arbiter"
    /// Where malformed messages go (and feedback the engine refused); none
    /// when empty (they are counted, logged and skipped).
    public var deadLetterTopic = ""
    /// Where every decision is published once stored; none when empty.
    public var decisionsTopic = ""
    /// The tenant of a message that names none.
    public var defaultTenant = "default"
    /// Any librdkafka property, passed through (security settings included).
    public var properties: [String: String] = [:]
    /// At most this many messages go into one feedback batch (one SQLite
    /// transaction with their offsets): larger batches consume a backlog
    /// faster (about 300,000 messages/s at 4,000 against 270,000 at 1,000,
    /// scripts/bench kafka-consume) at the cost of a longer wait per batch.
    public var batchSize = 4_000
    /// A batch is cut after this long even when not full.
    public var batchWait: Duration = .milliseconds(20)

    public init() {}

    /// Whether a consumer runs.
    public var enabled: Bool { !brokers.isEmpty }
}
