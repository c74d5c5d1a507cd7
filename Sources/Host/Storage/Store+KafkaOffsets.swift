internal import SQLite

/// A position in a Kafka partition: the next offset to consume.
public struct KafkaOffset: Sendable, Equatable, Hashable {
    public var topic: String
    public var partition: Int32
    /// The offset of the next message to read (the last applied one + 1).
    public var next: Int64

    public init(topic: String, partition: Int32, next: Int64) {
        self.topic = topic
        self.partition = partition
        self.next = next
    }
}

extension Store {
    /// Records where consumption stands (inside the batch's transaction).
    public func storeKafkaOffsets(_ offsets: [KafkaOffset], at now: Int64) throws {
        for offset in offsets {
            try database.with("""
                INSERT INTO kafka_offsets (topic, partition, next_offset, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at
                """) { s throws(SQLiteError) in
                try s.bind(1, offset.topic)
                try s.bind(2, Int64(offset.partition))
                try s.bind(3, offset.next)
                try s.bind(4, now)
                try s.step()
            }
        }
    }

    /// Every stored position.
    public func kafkaOffsets() throws -> [KafkaOffset] {
        try database.with("SELECT topic, partition, next_offset FROM kafka_offsets ORDER BY topic, partition") { s throws(SQLiteError) in
            var offsets: [KafkaOffset] = []
            while try s.step() { offsets.append(KafkaOffset(topic: s.string(0), partition: Int32(s.int64(1)), next: s.int64(2))) }
            return offsets
        }
    }
}
