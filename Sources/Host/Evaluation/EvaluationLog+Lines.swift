internal import JSON

/// The decision log as a file, one JSON object a line: what `arbiter
/// simulate --log` writes and `arbiter evaluate --log` reads.
///
///     {"format": "arbiter.decision-log/1", "arms": ["arm0", ...], "arm_means": [0.3, ...]}
///     {"decision": 1, "time": 0, "eligible": [0, 1, 2], "arm": 2, "propensity": 0.34}
///     {"feedback": 1, "time": 0, "reward": 1, "weight": 1}
///
/// `arm_means` is optional (null when unknown); `feedback` names a
/// decision's id; `weight` defaults to 1.
extension EvaluationLog {
    public static let lineFormat = "arbiter.decision-log/1"

    /// The log as lines of JSON.
    public var lines: String {
        var out = JSONWriter(capacity: 64 * (decisions.count + feedback.count + 1))
        out.object { w in
            w.key("format"); w.string(Self.lineFormat)
            w.key("arms"); w.array(arms)
            w.key("arm_means")
            if let armMeans { w.array(armMeans) } else { w.null() }
        }
        var text = out.text + "\n"
        var next = 0
        for (index, decision) in decisions.enumerated() {
            var line = JSONWriter()
            line.object { w in
                w.key("decision"); w.integer(decision.id)
                w.key("time"); w.integer(decision.time)
                w.key("eligible"); w.array(decision.eligible.map(Int.init))
                w.key("arm"); w.integer(decision.arm)
                w.key("propensity"); w.number(decision.propensity)
            }
            text += line.text + "\n"
            // Each piece of feedback after the last decision made before it arrived.
            while next < feedback.count, index + 1 == decisions.count || feedback[next].time < decisions[index + 1].time {
                let entry = feedback[next]
                var line = JSONWriter()
                line.object { w in
                    w.key("feedback"); w.integer(decisions[entry.decision].id)
                    w.key("time"); w.integer(entry.time)
                    w.key("reward"); w.number(entry.reward)
                    w.key("weight"); w.number(entry.weight)
                }
                text += line.text + "\n"
                next += 1
            }
        }
        return text
    }

    /// Reads a log written as lines of JSON.
    /// - Throws: `InvalidLog` naming the line at fault.
    public init(lines text: some StringProtocol) throws(InvalidLog) {
        var arms: [String]?
        var means: [Double]?
        var decisions: [LoggedDecision] = []
        var feedback: [LoggedFeedback] = []
        var positions: [UInt64: Int] = [:]
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            guard let object = JSONValue(parsing: String(line))?.objectValue else { throw InvalidLog("line \(number) is not a JSON object") }
            func value(_ key: String) throws(InvalidLog) -> Double {
                guard let value = object[key]?.numberValue else { throw InvalidLog("line \(number): '\(key)' must be a number") }
                return value
            }
            func integer(_ key: String) throws(InvalidLog) -> Int64 {
                let figure = try value(key)
                guard figure == figure.rounded(), abs(figure) < 9.0e15 else { throw InvalidLog("line \(number): '\(key)' must be an integer") }
                return Int64(figure)
            }
            if let format = object["format"] {
                guard format.stringValue == Self.lineFormat else {
                    throw InvalidLog("line \(number): format \(format.text) is not \(Self.lineFormat)")
                }
                arms = object["arms"]?.arrayValue?.compactMap(\.stringValue)
                means = object["arm_means"]?.arrayValue?.compactMap(\.numberValue)
            } else if object["decision"] != nil {
                let id = try integer("decision")
                guard id >= 0, positions[UInt64(id)] == nil else { throw InvalidLog("line \(number): decision \(id) is negative or logged twice") }
                guard let eligible = object["eligible"]?.arrayValue?.compactMap(\.numberValue),
                      eligible.allSatisfy({ $0 >= 0 && $0 < 4.0e9 && $0 == $0.rounded() }) else {
                    throw InvalidLog("line \(number): 'eligible' must be an array of arm indices")
                }
                let arm = try integer("arm")
                guard arm >= 0, arm < 4_000_000_000 else { throw InvalidLog("line \(number): 'arm' must be an arm index") }
                positions[UInt64(id)] = decisions.count
                decisions.append(LoggedDecision(id: UInt64(id), time: try integer("time"), eligible: eligible.map { UInt32($0) },
                                                arm: UInt32(arm), propensity: try value("propensity")))
            } else if object["feedback"] != nil {
                let id = try integer("feedback")
                guard id >= 0, let index = positions[UInt64(id)] else {
                    throw InvalidLog("line \(number): feedback for decision \(id), which no earlier line logs")
                }
                let weight = object["weight"] == nil ? 1 : try value("weight")
                feedback.append(LoggedFeedback(decision: index, reward: try value("reward"), weight: weight, time: try integer("time")))
            } else {
                throw InvalidLog("line \(number) is neither the header, a decision nor feedback")
            }
        }
        guard let arms else { throw InvalidLog("the log has no header line with its arms (format \(Self.lineFormat))") }
        try self.init(arms: arms, decisions: decisions, feedback: feedback, armMeans: means)
    }
}
