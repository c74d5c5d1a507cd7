import ArgumentParser
import FoundationEssentials
import Engine
import JSON
import PluginHost
import SQLite
import Storage

/// `arbiter report`: an experiment's A/B report, read from the database
/// directly (one read transaction, safe while the server runs).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print an experiment's A/B report: per strategy and arm, per hour and day, with its changes.",
        discussion: "Example: arbiter report --experiment checkout --control thompson --format table. See Docs/evaluation.md."
    )

    @OptionGroup var plugins: PluginOptions
    @OptionGroup var data: DataOptions

    @Option(help: "The experiment.")
    var experiment: String

    @Option(help: "The experiment's tenant.")
    var tenant = "default"

    @Option(help: "The strategy the others are compared with (default: the first).")
    var control: String?

    @Option(help: "Output format: table, json or csv.")
    var format: Format = .table

    @Option(help: ArgumentHelp("Also draw the reward and traffic of each strategy over time, the changes marked, to this SVG file.", valueName: "file"))
    var plot: String?

    enum Format: String, ExpressibleByArgument { case table, json, csv }

    func run() throws {
        let store = try data.existingStore()
        let catalog = plugins.load()
        let report: ExperimentReport = try store.database.transaction(immediate: false) {
            guard let record = try store.experiment(tenant: tenant, key: experiment) else {
                throw CommandFailure("no experiment '\(experiment)' for tenant '\(tenant)' in \(store.database.path)")
            }
            do {
                return try ExperimentReport.build(store, experiment: record, control: control) { plugin in
                    ExperimentReport.boundedRewards(catalog.plugin(named: plugin))
                }
            } catch let error as ReportError {
                throw ValidationError(error.message)
            }
        }
        if let plot {
            do { try report.plot.write(toFile: plot, atomically: true, encoding: .utf8) } catch {
                throw CommandFailure("cannot write the plot \(plot): \(error)")
            }
        }
        switch format {
        case .json: print(JSONWriter.text(of: report, pretty: true))
        case .csv: print(Self.csv(report), terminator: "")
        case .table: print(Self.table(report))
        }
    }

    static func number(_ value: Double?) -> String { value.map(format3) ?? "-" }

    static func table(_ report: ExperimentReport) -> String {
        func interval(_ line: ExperimentReport.Line) -> String {
            guard let mean = line.figures.meanReward, let interval = line.interval else { return "-" }
            return "\(format3(mean)) [\(format3(interval.lower)), \(format3(interval.upper))]"
        }
        var rows = [["strategy", "arm", "decisions", "share", "feedback", "join", "mean reward [95%]", "vs control [95%]", "P(best)", "exp. loss"]]
        for strategy in report.strategies {
            let difference = strategy.difference.map { "\(format3($0.value)) [\(format3($0.lower)), \(format3($0.upper))]" }
                ?? (strategy.line.name == report.control ? "control" : "-")
            rows.append([strategy.line.name, "all", "\(strategy.line.figures.decisions)", number(strategy.trafficShare),
                         "\(strategy.line.figures.feedback)", number(strategy.line.figures.joinRate), interval(strategy.line),
                         difference, number(strategy.line.probabilityBest), number(strategy.line.expectedLoss)])
            for arm in strategy.arms where arm.figures.decisions > 0 || arm.figures.feedback > 0 {
                rows.append(["", arm.name, "\(arm.figures.decisions)", "", "\(arm.figures.feedback)", number(arm.figures.joinRate),
                             interval(arm), "", number(arm.probabilityBest), number(arm.expectedLoss)])
            }
        }
        rows.append(["total", "all", "\(report.total.figures.decisions)", "", "\(report.total.figures.feedback)",
                     number(report.total.figures.joinRate), interval(report.total), "", "", ""])
        var lines = ["experiment \(report.experiment), control \(report.control ?? "-"), rewards \(report.boundedRewards ? "in [0, 1] (Beta posteriors, Wilson intervals)" : "unbounded (normal approximation)")"]
        lines += TextTable.lines(rows)
        if !report.daily.isEmpty {
            lines.append("")
            lines.append("per day (decisions / mean reward):")
            for period in report.daily {
                let cells = period.strategies.map { "\($0.name) \($0.figures.decisions) / \(number($0.figures.meanReward))" }
                lines.append("  \(RFC3339.text(milliseconds: period.start).prefix(10))  " + cells.joined(separator: ", "))
            }
        }
        if !report.changes.isEmpty {
            lines.append("")
            lines.append("changes:")
            for change in report.changes {
                lines.append("  \(RFC3339.text(milliseconds: change.at))  \(change.kind)\(change.strategy.map { " \($0)" } ?? "")  \(change.detail)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One row per strategy, per strategy and arm, and per strategy and
    /// period (hour and day); `period` is "all" for the totals.
    static func csv(_ report: ExperimentReport) -> String {
        var out = "period,start,strategy,arm,decisions,feedback,join_rate,mean_reward,lower,upper,probability_best,expected_loss,difference\n"
        func row(_ period: String, _ start: String, _ strategy: String, _ arm: String, _ figures: ExperimentReport.Figures,
                 _ line: ExperimentReport.Line?, _ difference: Double?) {
            let cells = [period, start, csvField(strategy), csvField(arm), "\(figures.decisions)", "\(figures.feedback)",
                         number(figures.joinRate), number(figures.meanReward), number(line?.interval?.lower), number(line?.interval?.upper),
                         number(line?.probabilityBest), number(line?.expectedLoss), number(difference)]
            out += cells.map { $0 == "-" ? "" : $0 }.joined(separator: ",") + "\n"
        }
        for strategy in report.strategies {
            row("all", "", strategy.line.name, "", strategy.line.figures, strategy.line, strategy.difference?.value)
            for arm in strategy.arms { row("all", "", strategy.line.name, arm.name, arm.figures, arm, nil) }
        }
        for (name, periods) in [("hour", report.hourly), ("day", report.daily)] {
            for period in periods {
                for entry in period.strategies {
                    row(name, RFC3339.text(milliseconds: period.start), entry.name, "", entry.figures, nil, nil)
                }
            }
        }
        return out
    }

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" : text
    }
}
