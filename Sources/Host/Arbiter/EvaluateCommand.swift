import ArgumentParser
import Engine
import Evaluation
import FoundationEssentials
import JSON
import PluginHost
import Simulation
import SQLite
import Storage

/// `arbiter evaluate`: off-policy evaluation of candidate strategies on an
/// experiment's logged decisions (read from the database, safe while the
/// server runs) or on a log file `arbiter simulate --log` wrote.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Estimate what candidate strategies would have earned on logged decisions (IPS, SNIPS, doubly robust).",
        discussion: """
            Example: arbiter evaluate --experiment checkout --candidate thompson --candidate ucb:variant=kl-ucb \
            --candidate epsilon-greedy:epsilon=0.05. Each candidate is PLUGIN or PLUGIN:NAME=VALUE,NAME=VALUE \
            (an alias such as kl-ucb works too); see Docs/evaluation.md.
            """
    )

    @OptionGroup var plugins: PluginOptions
    @OptionGroup var data: DataOptions

    @Option(help: "The experiment whose logged decisions to evaluate on (read from the database).")
    var experiment: String?

    @Option(help: "The experiment's tenant.")
    var tenant = "default"

    @Option(help: "A decision log file written by `arbiter simulate --log`, instead of an experiment.")
    var log: String?

    @Option(name: .customLong("candidate"), help: ArgumentHelp("A strategy to evaluate, PLUGIN[:NAME=VALUE,...] (repeatable).", valueName: "spec"))
    var candidates: [String] = []

    @Option(help: "Only decisions made at or after this RFC 3339 time.")
    var since: String?

    @Option(help: "Only decisions made before this RFC 3339 time.")
    var until: String?

    @Option(name: .customLong("missing-reward"), help: "The reward of a decision without feedback (default: such decisions are left out).")
    var missingReward: Double?

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    enum Format: String, ExpressibleByArgument { case table, json }

    func run() throws {
        guard (experiment == nil) != (log == nil) else { throw ValidationError("give either --experiment or --log") }
        let catalog = plugins.load()
        let specs = try candidates.map(Self.parse)
        let window = EvaluationWindow(since: try time(since, "--since"), until: try time(until, "--until"), missingReward: missingReward)
        let evaluationLog: EvaluationLog
        if let log {
            let text: String
            do { text = try String(contentsOfFile: log, encoding: .utf8) } catch {
                throw CommandFailure("cannot read the log \(log): \(error)")
            }
            do { evaluationLog = try EvaluationLog(lines: text).window(from: window.since, to: window.until) } catch {
                throw CommandFailure("\(log): \(error.message)")
            }
        } else {
            evaluationLog = try readExperiment(experiment!, window: window)
        }
        let candidates: [Candidate]
        do {
            candidates = try Engine.candidates(specs, catalog: catalog, armCount: evaluationLog.arms.count)
        } catch {
            throw ValidationError(error.description)
        }
        let report = OffPolicyEvaluator(missingReward: missingReward).evaluate(evaluationLog, candidates: candidates)
        switch format {
        case .json: print(JSONWriter.text(of: report, pretty: true))
        case .table: print(Self.table(report))
        }
    }

    /// The experiment's log, read on a connection of its own.
    func readExperiment(_ key: String, window: EvaluationWindow) throws -> EvaluationLog {
        let store = try data.existingStore()
        guard let record = try store.experiment(tenant: tenant, key: key) else {
            throw CommandFailure("no experiment '\(key)' for tenant '\(tenant)' in \(store.database.path)")
        }
        return try DecisionLogReader.read(store, experiment: record, from: window.since, to: window.until)
    }

    func time(_ text: String?, _ option: String) throws -> Int64? {
        guard let text else { return nil }
        guard let milliseconds = RFC3339.milliseconds(text) else {
            throw ValidationError("\(option) must be an RFC 3339 time such as 2026-12-04T10:00:00Z, got '\(text)'")
        }
        return milliseconds
    }

    /// `PLUGIN` or `PLUGIN:NAME=VALUE,...`; an alias (kl-ucb) stands for its plugin and parameters.
    static func parse(_ text: String) throws -> CandidateSpec {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw ValidationError("--candidate '\(text)' names no plugin") }
        var spec = StrategySpec.aliases[name] ?? StrategySpec(label: text, plugin: name)
        if parts.count == 2 {
            for assignment in parts[1].split(separator: ",") {
                let sides = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                guard sides.count == 2, !sides[0].isEmpty else {
                    throw ValidationError("--candidate '\(text)': '\(assignment)' must look like NAME=VALUE")
                }
                spec.parameters[sides[0]] = JSONValue(parsing: sides[1]) ?? .string(sides[1])
            }
        }
        return CandidateSpec(label: text, plugin: spec.plugin, config: spec.configJSON)
    }

    static func table(_ report: EvaluationReport) -> String {
        func interval(_ estimate: Estimate?) -> String {
            guard let estimate else { return "-" }
            return "\(format3(estimate.value)) [\(format3(estimate.low)), \(format3(estimate.high))]"
        }
        var lines = ["\(report.decisionsLogged) decisions, \(report.decisionsWithFeedback) with feedback (\(report.feedbackEvents) events); logged policy's mean reward \(interval(report.logged))"]
        let header = ["candidate", "decisions", "IPS [95%]", "SNIPS [95%]", "DR [95%]", "ESS", "unsupported", "max weight"]
        var rows: [[String]] = []
        for candidate in report.candidates {
            if let failure = candidate.failure {
                rows.append([candidate.label, "-", "not evaluated: \(failure)", "", "", "", "", ""])
                continue
            }
            rows.append([candidate.label, "\(candidate.decisions)", interval(candidate.ips), interval(candidate.snips),
                         interval(candidate.doublyRobust), String(Int(candidate.effectiveSampleSize.rounded())),
                         "\(format3(candidate.zeroSupportShare * 100))%", format3(candidate.maxWeight)]
                        + (candidate.truth.map { ["truth \(format3($0))"] } ?? []))
        }
        lines += TextTable.lines([header] + rows)
        for candidate in report.candidates {
            for warning in candidate.warnings { lines.append("warning: \(candidate.label): \(warning)") }
        }
        let timings = report.candidates.filter { $0.failure == nil && $0.seconds > 0 }.map { candidate in
            "\(candidate.label) \(format3(candidate.seconds)) s (\(Int((Double(report.decisionsLogged) / candidate.seconds).rounded())) decisions/s)"
        }
        if !timings.isEmpty { lines.append("replayed in: " + timings.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }
}
