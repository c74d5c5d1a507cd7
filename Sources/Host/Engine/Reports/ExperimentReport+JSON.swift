public import JSON

extension ExperimentReport: JSONWritable {
    /// The shape of `GET /v1/experiments/{key}/report` and of `arbiter report
    /// --format json` (the OpenAPI document's `Report`).
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("experiment"); w.string(experiment)
            w.key("arms"); w.array(arms)
            w.key("control"); w.string(control)
            w.key("bounded_rewards"); w.bool(boundedRewards)
            w.key("total"); Self.write(total, to: &w)
            w.key("strategies")
            w.array(strategies) { w, strategy in
                w.object { w in
                    Self.members(of: strategy.line, to: &w)
                    w.key("plugin"); w.string(strategy.plugin)
                    w.key("plugin_version"); w.string(strategy.pinnedVersion)
                    w.key("weight"); w.number(strategy.weight)
                    w.key("traffic_share"); w.number(strategy.trafficShare)
                    w.key("difference")
                    if let difference = strategy.difference {
                        w.object { w in
                            w.key("value"); w.number(difference.value)
                            w.key("lower"); w.number(difference.lower)
                            w.key("upper"); w.number(difference.upper)
                        }
                    } else {
                        w.null()
                    }
                    w.key("arms"); w.array(strategy.arms) { w, line in Self.write(line, to: &w) }
                }
            }
            w.key("arm_totals"); w.array(armTotals) { w, line in Self.write(line, to: &w) }
            for (name, periods) in [("hourly", hourly), ("daily", daily)] {
                w.key(name)
                w.array(periods) { w, period in
                    w.object { w in
                        w.key("start"); w.timestamp(period.start)
                        w.key("strategies")
                        w.array(period.strategies) { w, entry in
                            w.object { w in
                                w.key("name"); w.string(entry.name)
                                Self.counts(of: entry.figures, to: &w)
                            }
                        }
                    }
                }
            }
            w.key("changes")
            w.array(changes) { w, change in
                w.object { w in
                    w.key("at"); w.timestamp(change.at)
                    w.key("kind"); w.string(change.kind)
                    w.key("strategy"); w.string(change.strategy)
                    w.key("detail"); w.string(change.detail)
                    w.key("actor"); w.string(change.actor)
                }
            }
        }
    }

    static func write(_ line: Line, to w: inout JSONWriter) {
        w.object { w in members(of: line, to: &w) }
    }

    static func counts(of figures: Figures, to w: inout JSONWriter) {
        w.key("decisions"); w.integer(figures.decisions)
        w.key("feedback"); w.integer(figures.feedback)
        w.key("join_rate"); w.number(figures.joinRate)
        w.key("mean_reward"); w.number(figures.meanReward)
    }

    static func members(of line: Line, to w: inout JSONWriter) {
        w.key("name"); w.string(line.name)
        counts(of: line.figures, to: &w)
        w.key("interval")
        if let interval = line.interval {
            w.object { w in
                w.key("lower"); w.number(interval.lower)
                w.key("upper"); w.number(interval.upper)
                w.key("method"); w.string(interval.method.rawValue)
            }
        } else {
            w.null()
        }
        w.key("probability_best"); w.number(line.probabilityBest)
        w.key("expected_loss"); w.number(line.expectedLoss)
    }
}
