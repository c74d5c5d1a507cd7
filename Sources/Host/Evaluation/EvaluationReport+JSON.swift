public import JSON

extension Estimate: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("value"); w.number(value)
            w.key("standard_error"); w.number(standardError)
            w.key("low"); w.number(low)
            w.key("high"); w.number(high)
        }
    }
}

extension EvaluationReport: JSONWritable {
    /// The shape of `POST /v1/experiments/{key}/evaluate`'s answer and of
    /// `arbiter evaluate --format json` (the OpenAPI document's `Evaluation`).
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("decisions"); w.integer(decisionsLogged)
            w.key("decisions_with_feedback"); w.integer(decisionsWithFeedback)
            w.key("feedback_events"); w.integer(feedbackEvents)
            w.key("missing_reward"); w.number(missingReward)
            w.key("logged"); if let logged { w.value(logged) } else { w.null() }
            w.key("candidates")
            w.array(candidates) { w, candidate in
                w.object { w in
                    w.key("label"); w.string(candidate.label)
                    w.key("plugin"); w.string(candidate.plugin)
                    w.key("plugin_version"); w.string(candidate.pluginVersion)
                    w.key("config"); w.value(JSONValue(parsing: candidate.config) ?? .object([:]))
                    w.key("decisions"); w.integer(candidate.decisions)
                    for (name, estimate) in [("ips", candidate.ips), ("snips", candidate.snips), ("doubly_robust", candidate.doublyRobust)] {
                        w.key(name); if let estimate { w.value(estimate) } else { w.null() }
                    }
                    w.key("effective_sample_size"); w.number(candidate.effectiveSampleSize)
                    w.key("zero_support_share"); w.number(candidate.zeroSupportShare)
                    w.key("mean_weight"); w.number(candidate.meanWeight)
                    w.key("max_weight"); w.number(candidate.maxWeight)
                    if let truth = candidate.truth { w.key("truth"); w.number(truth) }
                    w.key("warnings"); w.array(candidate.warnings)
                    w.key("failure"); w.string(candidate.failure)
                    w.key("seconds"); w.number(candidate.seconds)
                }
            }
        }
    }
}
