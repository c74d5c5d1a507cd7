public import JSON

extension SimulationReport {
    /// Output formats of `arbiter simulate`.
    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json
    }

    /// The report in `format`.
    public func rendered(as format: Format) -> String {
        switch format {
        case .json: json
        case .csv: csv
        case .table: table
        }
    }

    /// Indented JSON with sorted keys: the documented, stable form.
    public var json: String {
        JSONWriter.text(of: self, pretty: true)
    }

    /// One line per strategy.
    public var csv: String {
        var lines = ["label,plugin,plugin_version,regret_mean,regret_sd,best_arm_share,decisions_per_second,fallbacks"]
        for s in strategies {
            lines.append([s.label, s.plugin, s.plugin_version, "\(s.regret.mean)", "\(s.regret.sd)",
                          "\(s.best_arm_share)", "\(s.decisions_per_second.rounded())", "\(s.fallbacks)"].joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }

    /// An aligned table for people.
    public var table: String {
        let e = environment
        var lines = ["\(e.arms.count) arms, horizon \(e.horizon), \(e.runs) runs, seed \(e.seed)"
            + (e.drift ? ", drift (means reversed at \(e.horizon / 2))" : "")
            + (e.delay > 1 ? ", feedback every \(e.delay) decisions" : "")]
        let header = ["strategy", "regret (mean ± sd)", "best-arm share", "decisions/s", "fallbacks"]
        var rows = [header]
        for s in strategies {
            rows.append([
                s.label,
                "\(decimal(s.regret.mean, 1)) ± \(decimal(s.regret.sd, 1))",
                decimal(s.best_arm_share, 3),
                grouped(Int(s.decisions_per_second.rounded())),
                "\(s.fallbacks)",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}

/// `value` with `digits` decimals.
func decimal(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    guard digits > 0 else { return "\(whole)" }
    let fraction = Int(abs(scaled).truncatingRemainder(dividingBy: scale))
    let text = String(fraction)
    let sign = scaled < 0 && whole == 0 ? "-" : ""
    return sign + "\(whole)." + String(repeating: "0", count: digits - text.count) + text
}

/// An integer with thousands separators.
func grouped(_ value: Int) -> String {
    let digits = String(abs(value))
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out += "," }
        out.append(character)
    }
    return (value < 0 ? "-" : "") + out
}

extension SimulationReport: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("environment")
            w.object { w in
                w.key("arms"); w.array(environment.arms)
                w.key("delay"); w.integer(environment.delay)
                w.key("drift"); w.bool(environment.drift)
                w.key("horizon"); w.integer(environment.horizon)
                w.key("runs"); w.integer(environment.runs)
                w.key("seed"); w.integer(environment.seed)
            }
            w.key("format"); w.string(format)
            w.key("strategies")
            w.array(strategies) { w, s in
                w.object { w in
                    w.key("best_arm_share"); w.number(s.best_arm_share)
                    w.key("curve")
                    w.array(s.curve) { w, point in
                        w.object { w in
                            w.key("mean"); w.number(point.mean)
                            w.key("sd"); w.number(point.sd)
                            w.key("t"); w.integer(point.t)
                        }
                    }
                    w.key("decisions_per_second"); w.number(s.decisions_per_second)
                    w.key("fallbacks"); w.integer(s.fallbacks)
                    w.key("label"); w.string(s.label)
                    w.key("parameters"); w.value(JSONValue.object(s.parameters))
                    w.key("plugin"); w.string(s.plugin)
                    w.key("plugin_version"); w.string(s.plugin_version)
                    w.key("regret")
                    w.object { w in
                        w.key("max"); w.number(s.regret.max)
                        w.key("mean"); w.number(s.regret.mean)
                        w.key("min"); w.number(s.regret.min)
                        w.key("sd"); w.number(s.regret.sd)
                    }
                    w.key("regret_per_run"); w.array(s.regret_per_run)
                }
            }
        }
    }
}
