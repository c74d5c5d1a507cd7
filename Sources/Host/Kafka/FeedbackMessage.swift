public import Engine
internal import JSON

/// One feedback message: a JSON object in the shape of one event of
/// `POST /v1/feedback`, plus the tenant it belongs to:
///
///     {"tenant": "default", "event_id": "e1", "decision_id": "1099511627777", "reward": 1, "weight": 1}
///
/// `tenant` may be left out (the configured default tenant), `weight` too (1).
/// With `experiment`, `strategy` and `arm` (as the decision's answer gave
/// them) the event carries its decision's route, and any host with the same
/// experiments learns from it without having seen the decision (scale-out).
public struct FeedbackMessage: Sendable {
    public var tenant: String
    public var event: FeedbackEvent

    /// Why a message is not a feedback message.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The members a message may have, in the order `Reader` numbers them.
    private static let members: [StaticString] = ["tenant", "event_id", "decision_id", "reward", "weight", "experiment", "strategy", "arm"]
    private static let allowed = Set(members.map(\.description))

    /// Parses a message's bytes.
    public init(bytes: [UInt8], defaultTenant: String) throws(Malformed) {
        // The common shape read straight into the event, without a JSON tree
        // (which cost the consumer most of its time); anything else the
        // general way, which also names what is wrong.
        var reader = Reader()
        let fast = bytes.withUnsafeBufferPointer { buffer in
            JSONParser.readFlatObject(buffer, keys: Self.members, into: &reader)
        }
        if fast, let eventID = reader.eventID, let decisionID = reader.decisionID, let reward = reader.reward {
            let route = reader.route
            if route != nil || (reader.experiment == nil && reader.strategy == nil && reader.arm == nil) {
                self.init(tenant: reader.tenant ?? defaultTenant,
                          event: FeedbackEvent(eventID: eventID, decisionID: decisionID, reward: reward, weight: reader.weight ?? 1, route: route))
                return
            }
        }
        try self.init(parsing: bytes, defaultTenant: defaultTenant)
    }

    private init(tenant: String, event: FeedbackEvent) {
        self.tenant = tenant
        self.event = event
    }

    /// The members of a flat message as they are read.
    private struct Reader: FlatObjectReader {
        var tenant, eventID, decisionID, experiment, strategy, arm: String?
        var reward, weight: Double?

        var route: FeedbackRoute? {
            guard let experiment, let strategy, let arm else { return nil }
            return FeedbackRoute(experiment: experiment, strategy: strategy, arm: arm)
        }

        mutating func member(_ key: Int, _ value: FlatValue) -> Bool {
            switch (key, value) {
            case let (0, .string(text)): tenant = text
            case let (1, .string(text)): eventID = text
            case let (2, .string(text)): decisionID = text
            case let (3, .number(number)): reward = number
            case let (4, .number(number)): weight = number
            case let (5, .string(text)): experiment = text
            case let (6, .string(text)): strategy = text
            case let (7, .string(text)): arm = text
            default: return false
            }
            return true
        }

        mutating func endObject() -> Bool { true }
    }

    /// Parses a message's bytes the general way.
    private init(parsing bytes: [UInt8], defaultTenant: String) throws(Malformed) {
        guard let json = JSONValue(parsing: String(decoding: bytes, as: UTF8.self)), let object = json.objectValue else {
            throw Malformed(description: "not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.allowed.contains($0) }) {
            throw Malformed(description: "unknown field '\(unknown.prefix(64))'")
        }
        func string(_ key: String) throws(Malformed) -> String? {
            guard let value = object[key] else { return nil }
            guard let text = value.stringValue else { throw Malformed(description: "\(key) must be a string") }
            return text
        }
        func number(_ key: String) throws(Malformed) -> Double? {
            guard let value = object[key] else { return nil }
            guard let number = value.numberValue else { throw Malformed(description: "\(key) must be a number") }
            return number
        }
        tenant = try string("tenant") ?? defaultTenant
        guard let eventID = try string("event_id") else { throw Malformed(description: "event_id is missing") }
        guard let decisionID = try string("decision_id") else { throw Malformed(description: "decision_id is missing") }
        guard let reward = try number("reward") else { throw Malformed(description: "reward is missing") }
        var route: FeedbackRoute?
        let experiment = try string("experiment"), strategy = try string("strategy"), arm = try string("arm")
        if let experiment, let strategy, let arm {
            route = FeedbackRoute(experiment: experiment, strategy: strategy, arm: arm)
        } else if experiment != nil || strategy != nil || arm != nil {
            throw Malformed(description: "experiment, strategy and arm name the decision's route together: all three or none")
        }
        event = FeedbackEvent(eventID: eventID, decisionID: decisionID, reward: reward, weight: try number("weight") ?? 1, route: route)
    }
}
