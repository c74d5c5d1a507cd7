internal import CoreMetrics
internal import Engine
internal import JSON
internal import Metrics
internal import PluginHost
public import Prometheus
internal import Synchronization

/// The server's metrics, recorded through swift-metrics into a Prometheus
/// registry of its own (no global bootstrap, so several servers can live in
/// one process, as in tests) and exposed at `GET /metrics`.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// The factory the engine records its metrics with, into the same registry.
    public let factory: PrometheusMetricsFactory

    let decideDuration: Metrics.Timer
    let feedbackDuration: Metrics.Timer
    private let decisions = Mutex<[String: CoreMetrics.Counter]>([:])
    private let feedback = Mutex<[String: CoreMetrics.Counter]>([:])
    private let pluginFaults = Mutex<[String: (CoreMetrics.Counter, Int)]>([:])
    private let queueDepth: CoreMetrics.Gauge
    private let decisionLogDepth: CoreMetrics.Gauge
    private let experimentsKnown: CoreMetrics.Gauge
    private let experimentsInMemory: CoreMetrics.Gauge
    private let logBytes: CoreMetrics.Gauge
    private let logResets: CoreMetrics.Counter
    private let logResetsReported = Mutex(0)
    private let openConnections: CoreMetrics.Gauge
    private let evictedConnections: CoreMetrics.Counter
    private let evictionsReported = Mutex(0)

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let fine: [Duration] = [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)]
        factory.defaultDurationHistogramBuckets = fine
        factory.valueHistogramBuckets["arbiter_feedback_batch_size"] = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
        self.factory = factory
        decideDuration = Metrics.Timer(label: "arbiter_decide_duration_seconds", factory: factory)
        feedbackDuration = Metrics.Timer(label: "arbiter_feedback_request_duration_seconds", factory: factory)
        queueDepth = CoreMetrics.Gauge(label: "arbiter_feedback_queue_depth", factory: factory)
        decisionLogDepth = CoreMetrics.Gauge(label: "arbiter_decision_log_depth", factory: factory)
        experimentsKnown = CoreMetrics.Gauge(label: "arbiter_experiments", factory: factory)
        experimentsInMemory = CoreMetrics.Gauge(label: "arbiter_experiments_in_memory", factory: factory)
        logBytes = CoreMetrics.Gauge(label: "arbiter_wal_bytes", factory: factory)
        logResets = CoreMetrics.Counter(label: "arbiter_wal_resets_total", factory: factory)
        openConnections = CoreMetrics.Gauge(label: "arbiter_http_connections", factory: factory)
        evictedConnections = CoreMetrics.Counter(label: "arbiter_http_connections_evicted_total", factory: factory)
    }

    /// Counts a decision made by `strategy`.
    func recordDecision(strategy: String) {
        counter(in: decisions, label: "arbiter_decisions_total", dimension: ("strategy", strategy)).increment()
    }

    /// Counts feedback outcomes.
    func recordFeedback(_ outcomes: [FeedbackOutcome]) {
        var counts: [FeedbackOutcome.Status: Int] = [:]
        for outcome in outcomes { counts[outcome.status, default: 0] += 1 }
        for (status, count) in counts {
            counter(in: feedback, label: "arbiter_feedback_events_total", dimension: ("status", status.rawValue)).increment(by: count)
        }
    }

    private func counter(in cache: borrowing Mutex<[String: CoreMetrics.Counter]>, label: String, dimension: (String, String)) -> CoreMetrics.Counter {
        cache.withLock { counters in
            if let counter = counters[dimension.1] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: [dimension], factory: factory)
            counters[dimension.1] = counter
            return counter
        }
    }

    /// Brings the figures kept elsewhere (queues, plugin faults) up to date,
    /// then renders the Prometheus text format.
    /// - Parameter kafka: the Kafka consumer's status, when one runs.
    func render(engine: Engine, connections: ConnectionRegistry, kafka: JSONValue? = nil) -> [UInt8] {
        let statistics = engine.statistics
        queueDepth.record(statistics.queuedEvents)
        decisionLogDepth.record(statistics.queuedDecisions)
        openConnections.record(connections.count)
        let experiments = engine.experimentCounts
        experimentsKnown.record(experiments.known)
        experimentsInMemory.record(experiments.inMemory)
        let log = engine.writeAheadLog
        logBytes.record(log.bytes)
        logResetsReported.withLock { reported in
            if log.resets > reported { logResets.increment(by: log.resets - reported) }
            reported = log.resets
        }
        let evictions = connections.evictions
        evictionsReported.withLock { reported in
            if evictions > reported { evictedConnections.increment(by: evictions - reported) }
            reported = evictions
        }
        // Every version of a name counts under that name: the series go on
        // across an upgrade.
        let versions = engine.plugins.versions
        let faultsByName = Dictionary(versions.map { ($0.name, $0.faults) }, uniquingKeysWith: +)
        pluginFaults.withLock { faults in
            for (name, now) in faultsByName {
                let (counter, reported) = faults[name]
                    ?? (CoreMetrics.Counter(label: "arbiter_plugin_faults_total", dimensions: [("plugin", name)], factory: factory), 0)
                if now > reported { counter.increment(by: now - reported) }
                faults[name] = (counter, now)
            }
        }
        var text = registry.emitToBuffer()
        Self.appendPluginCallTimes(versions, to: &text)
        Self.appendPluginVersions(engine.pluginListing(), upgrades: engine.plugins.upgradeCounts, to: &text)
        if let kafka { Self.appendKafka(kafka, to: &text) }
        return text
    }

    /// `arbiter_plugin_call_seconds{plugin, call}`: the time each plugin
    /// spends per call, a histogram per kind of call made so far. Written
    /// here from the plugins' own atomic counts, which recording a call
    /// through a shared registry would not match in cost.
    static func appendPluginCallTimes(_ plugins: [StrategyPlugin], to text: inout [UInt8]) {
        var lines = "# HELP arbiter_plugin_call_seconds Time spent in each call to a strategy plugin.\n"
        lines += "# TYPE arbiter_plugin_call_seconds histogram\n"
        let bounds = PluginCallTimes.bucketBounds.map { String(Double($0) / 1e9) } + ["+Inf"]
        let names = Array(Set(plugins.map(\.name))).sorted()
        for name in names {
            let versions = plugins.filter { $0.name == name }
            for operation in PluginCallTimes.Operation.allCases {
                // The versions of one name summed.
                var figures = PluginCallTimes.Figures(buckets: Array(repeating: 0, count: bounds.count), totalNanoseconds: 0)
                for version in versions {
                    let own = version.callTimes.figures(operation)
                    for index in figures.buckets.indices { figures.buckets[index] += own.buckets[index] }
                    figures.totalNanoseconds += own.totalNanoseconds
                }
                guard figures.count > 0 else { continue }
                // Plugin names are [a-z0-9-] (the loader refuses others): no escaping.
                let labels = "plugin=\"\(name)\",call=\"\(operation.label)\""
                var cumulative = 0
                for (bound, count) in zip(bounds, figures.buckets) {
                    cumulative += count
                    lines += "arbiter_plugin_call_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
                }
                lines += "arbiter_plugin_call_seconds_sum{\(labels)} \(Double(figures.totalNanoseconds) / 1e9)\n"
                lines += "arbiter_plugin_call_seconds_count{\(labels)} \(cumulative)\n"
            }
        }
        text += Array(lines.utf8)
    }

    /// `arbiter_plugin_versions_resident{plugin}`, `arbiter_plugin_active{plugin,version,sha256}` (1
    /// for the active build), `arbiter_plugin_strategies{plugin,version,sha256}` (strategies in
    /// memory on each build) and `arbiter_plugin_upgrades_total{plugin,outcome}`.
    static func appendPluginVersions(_ listing: PluginListing, upgrades: [String: PluginLibrary.UpgradeCounts],
                                     to text: inout [UInt8]) {
        var lines = "# HELP arbiter_plugin_versions_resident Plugin versions loaded (never unloaded).\n"
        lines += "# TYPE arbiter_plugin_versions_resident gauge\n"
        let byName = Dictionary(grouping: listing.versions, by: \.plugin.name)
        for name in byName.keys.sorted() { lines += "arbiter_plugin_versions_resident{plugin=\"\(name)\"} \(byName[name]!.count)\n" }
        lines += "# HELP arbiter_plugin_active 1 for the active build of each plugin, 0 for the other resident ones.\n"
        lines += "# TYPE arbiter_plugin_active gauge\n"
        lines += "# HELP arbiter_plugin_strategies Strategies in memory running each build.\n"
        lines += "# TYPE arbiter_plugin_strategies gauge\n"
        for version in listing.versions {
            // Versions are MAJOR.MINOR.PATCH and hashes hex: no escaping.
            let labels = "plugin=\"\(version.plugin.name)\",version=\"\(version.plugin.version)\",sha256=\"\(version.plugin.sha256)\""
            lines += "arbiter_plugin_active{\(labels)} \(version.active ? 1 : 0)\n"
            lines += "arbiter_plugin_strategies{\(labels)} \(version.strategies)\n"
        }
        lines += "# HELP arbiter_plugin_upgrades_total New plugin versions put in service (done) or refused by their check.\n"
        lines += "# TYPE arbiter_plugin_upgrades_total counter\n"
        for name in upgrades.keys.sorted() {
            lines += "arbiter_plugin_upgrades_total{plugin=\"\(name)\",outcome=\"done\"} \(upgrades[name]!.done)\n"
            lines += "arbiter_plugin_upgrades_total{plugin=\"\(name)\",outcome=\"refused\"} \(upgrades[name]!.refused)\n"
        }
        text += Array(lines.utf8)
    }

    /// The Kafka consumer: `arbiter_kafka_messages_total`, `_malformed_total`,
    /// `_dead_lettered_total`, `_retries_total`, `arbiter_kafka_connected`,
    /// `arbiter_kafka_seconds_since_last_message`,
    /// `arbiter_kafka_message_to_model_seconds{quantile}`, and per partition
    /// `arbiter_kafka_stored_offset`, `_consumed_offset` and `_lag`.
    static func appendKafka(_ status: JSONValue, to text: inout [UInt8]) {
        guard let fields = status.objectValue else { return }
        var lines = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Double?) {
            guard let value else { return }
            lines += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("arbiter_kafka_messages_total", "counter", "Kafka messages consumed.", fields["messages"]?.numberValue)
        metric("arbiter_kafka_messages_per_second", "gauge", "Messages applied per second over the last ten seconds.", fields["messages_per_second"]?.numberValue)
        metric("arbiter_kafka_malformed_total", "counter", "Kafka messages that were not feedback, skipped.", fields["malformed"]?.numberValue)
        metric("arbiter_kafka_dead_lettered_total", "counter", "Messages sent to the dead-letter topic.", fields["dead_lettered"]?.numberValue)
        metric("arbiter_kafka_retries_total", "counter", "Batches the write pipeline did not take at once.", fields["retries"]?.numberValue)
        metric("arbiter_kafka_connected", "gauge", "1 while the consumer consumes or is subscribed, 0 after an error.",
               fields["state"]?.stringValue.map { $0.hasPrefix("error") ? 0 : 1 })
        metric("arbiter_kafka_seconds_since_last_message", "gauge", "Time since the last message.", fields["seconds_since_last_message"]?.numberValue)
        if let latency = fields["message_to_model_ms"]?.objectValue, latency["p50"]?.numberValue != nil {
            let name = "arbiter_kafka_message_to_model_seconds"
            lines += "# HELP \(name) Recent messages: from production to applied, by quantile.\n# TYPE \(name) gauge\n"
            for (quantile, field) in [("0.5", "p50"), ("0.99", "p99"), ("1", "max")] {
                if let value = latency[field]?.numberValue { lines += "\(name){quantile=\"\(quantile)\"} \(value / 1_000)\n" }
            }
        }
        let partitions = fields["partitions"]?.arrayValue ?? []
        for (name, field, help) in [("arbiter_kafka_stored_offset", "stored_offset", "The next offset, stored with the batches."),
                                    ("arbiter_kafka_consumed_offset", "consumed_offset", "The next offset consumed."),
                                    ("arbiter_kafka_committed_offset", "committed_offset", "The offset last committed to Kafka."),
                                    ("arbiter_kafka_lag", "lag", "Messages of the partition not yet applied.")] {
            lines += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for partition in partitions {
                guard let members = partition.objectValue, let topic = members["topic"]?.stringValue,
                      let number = members["partition"]?.numberValue, let value = members[field]?.numberValue else { continue }
                // Topic names are [a-zA-Z0-9._-] (Kafka's rule): no escaping.
                lines += "\(name){topic=\"\(topic)\",partition=\"\(Int(number))\"} \(value)\n"
            }
        }
        text += Array(lines.utf8)
    }
}
