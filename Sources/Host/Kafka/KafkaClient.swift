internal import CRdKafka
internal import FoundationEssentials
internal import Logging
internal import Storage

/// The librdkafka handles of the consumer (and of the producer of the
/// dead-letter topic): one consumer in the group, its rebalances answered
/// with the offsets stored in SQLite.
final class KafkaClient: @unchecked Sendable {
    /// One message, copied out of librdkafka.
    struct Message: Sendable {
        let topic: String
        let partition: Int32
        let offset: Int64
        let payload: [UInt8]
        /// When it was produced (its CreateTime), ms since the epoch; nil when unknown.
        let timestamp: Int64?
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The text librdkafka wrote into an error buffer.
    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private let consumer: OpaquePointer
    private var producer: OpaquePointer?
    /// Retained for the callbacks' opaque pointer; released at close.
    private let owner: Unmanaged<KafkaFeedbackConsumer>
    private var closed = false
    /// Whether the last poll brought a message (only the polling thread
    /// touches it): the state is reported when it changes, not per message.
    private var consuming = false
    /// Topic names by librdkafka's topic handle (the polling thread's).
    private var topicNames: [OpaquePointer: String] = [:]

    private func topicName(_ handle: OpaquePointer) -> String {
        if let name = topicNames[handle] { return name }
        let name = String(cString: rd_kafka_topic_name(handle))
        topicNames[handle] = name
        return name
    }

    /// A librdkafka configuration: the brokers, `settings`, then the
    /// properties passed through (for a producer, without the consumer
    /// group's).
    static func configuration(_ configuration: KafkaConfiguration, _ settings: [(String, String)],
                              producer: Bool) throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var error = [CChar](repeating: 0, count: 512)
        let passed = configuration.properties.sorted(by: { $0.key < $1.key }).filter { !producer || !$0.key.hasPrefix("group.") }
        for (name, value) in [("bootstrap.servers", configuration.brokers)] + settings + passed {
            guard rd_kafka_conf_set(conf, name, value, &error, error.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw Failure(description: "kafka property \(name): \(text(error))")
            }
        }
        return conf
    }

    /// A producer (the dead-letter topic's, the decisions topic's).
    static func producer(_ configuration: KafkaConfiguration, _ settings: [(String, String)] = []) throws -> OpaquePointer {
        let conf = try Self.configuration(configuration, settings, producer: true)
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &error, error.count) else {
            throw Failure(description: "kafka producer: \(text(error))")
        }
        return handle
    }

    init(configuration: KafkaConfiguration, consumer owner: KafkaFeedbackConsumer) throws {
        // Offsets are ours (SQLite); Kafka's are committed for lag monitoring.
        // librdkafka stops fetching a partition whose prefetched messages
        // reach queued.min.messages (100,000 by default) and resumes late,
        // which starved the consumer behind a backlog (160,000 messages/s
        // against 250,000 with a higher threshold, scripts/bench
        // kafka-consume); queued.max.messages.kbytes (64 MiB) still bounds
        // the memory. Any of these can be overridden by kafka_properties.
        let conf = try Self.configuration(configuration, [
            ("group.id", configuration.groupID), ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"), ("auto.offset.reset", "earliest"),
            ("queued.min.messages", "1000000"),
        ], producer: false)
        self.owner = Unmanaged.passRetained(owner)
        rd_kafka_conf_set_opaque(conf, self.owner.toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { handle, error, partitions, opaque in
            guard let handle, let partitions, let opaque else { return }
            let consumer = Unmanaged<KafkaFeedbackConsumer>.fromOpaque(opaque).takeUnretainedValue()
            let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
            let elements = UnsafeMutableBufferPointer(start: partitions.pointee.elems, count: Int(partitions.pointee.cnt))
            let keys = elements.map { PartitionKey(topic: String(cString: $0.topic), partition: $0.partition) }
            if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                let stored = consumer.storedOffsets()
                for (index, key) in keys.enumerated() {
                    elements[index].offset = stored[key] ?? crdkafka_offset_invalid()
                }
                if cooperative {
                    // An incremental assignment adds to what the consumer has.
                    rd_kafka_error_destroy(rd_kafka_incremental_assign(handle, partitions))
                    consumer.assigned(adding: keys)
                } else {
                    rd_kafka_assign(handle, partitions)
                    consumer.assigned(replacing: keys)
                }
            } else if cooperative {
                rd_kafka_error_destroy(rd_kafka_incremental_unassign(handle, partitions))
                consumer.revoked(keys)
            } else {
                rd_kafka_assign(handle, nil)
                consumer.assigned(replacing: [])
            }
        }
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else {
            self.owner.release()
            throw Failure(description: "kafka consumer: \(Self.text(error))")
        }
        consumer = handle
        rd_kafka_poll_set_consumer(handle)
        let topics = rd_kafka_topic_partition_list_new(Int32(configuration.topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        for topic in configuration.topics { rd_kafka_topic_partition_list_add(topics, topic, crdkafka_partition_ua()) }
        let subscribed = rd_kafka_subscribe(handle, topics)
        guard subscribed == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(handle)
            self.owner.release()
            throw Failure(description: "kafka subscribe to \(configuration.topics.joined(separator: ", ")): \(String(cString: rd_kafka_err2str(subscribed)))")
        }
        if !configuration.deadLetterTopic.isEmpty {
            producer = try? Self.producer(configuration)
        }
        owner.connection("subscribed")
    }

    /// The next message, or nil after `milliseconds` without one (errors
    /// are logged and counted as a connection state, never thrown).
    func poll(milliseconds: Int32) -> Message? {
        if let producer { rd_kafka_poll(producer, 0) }
        guard let message = rd_kafka_consumer_poll(consumer, milliseconds) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let pointee = message.pointee
        guard pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if pointee.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                consuming = false
                let text = String(cString: rd_kafka_err2str(pointee.err))
                owner.takeUnretainedValue().connection("error: \(text)")
            }
            return nil
        }
        if !consuming {
            consuming = true
            owner.takeUnretainedValue().connection("consuming")
        }
        let topic = pointee.rkt.map(topicName) ?? ""
        let payload = pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: pointee.len)) } ?? []
        var kind = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &kind)
        return Message(topic: topic, partition: pointee.partition, offset: pointee.offset, payload: payload,
                       timestamp: kind == RD_KAFKA_TIMESTAMP_CREATE_TIME && timestamp >= 0 ? timestamp : nil)
    }

    /// The partition's high watermark (the offset the next message produced
    /// will get) as last seen by the consumer, without asking the broker;
    /// nil before it is known.
    func highWatermark(of partition: PartitionKey) -> Int64? {
        var low: Int64 = 0, high: Int64 = 0
        guard rd_kafka_get_watermark_offsets(consumer, partition.topic, partition.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
              high >= 0 else { return nil }
        return high
    }

    /// Commits positions to Kafka (asynchronously), for lag monitoring.
    func commit(_ offsets: [KafkaOffset]) {
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for offset in offsets {
            rd_kafka_topic_partition_list_add(list, offset.topic, offset.partition).pointee.offset = offset.next
        }
        _ = rd_kafka_commit(consumer, list, 1)
    }

    /// Sends a message to `topic`; false when it could not be queued.
    func produce(topic: String, payload: [UInt8], key: [UInt8]) -> Bool {
        guard let producer else { return false }
        return payload.withUnsafeBytes { bytes in
            key.withUnsafeBytes { keyBytes in
                crdkafka_produce(producer, topic, bytes.baseAddress, bytes.count, keyBytes.baseAddress, keyBytes.count)
                    == RD_KAFKA_RESP_ERR_NO_ERROR
            }
        }
    }

    /// Leaves the group and frees the handles.
    func close() {
        guard !closed else { return }
        closed = true
        rd_kafka_consumer_close(consumer)
        rd_kafka_destroy(consumer)
        if let producer {
            rd_kafka_flush(producer, 5_000)
            rd_kafka_destroy(producer)
        }
        owner.release()
    }
}
