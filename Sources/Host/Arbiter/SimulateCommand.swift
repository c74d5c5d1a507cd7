public import ArgumentParser
import FoundationEssentials
import PluginHost
import Evaluation
import Simulation

/// `arbiter simulate`: strategies side by side on a synthetic Bernoulli bandit.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run strategies side by side against a seeded synthetic Bernoulli environment.",
        discussion: """
            Prints, per strategy, the mean cumulative regret ± sd over the runs, the share of \
            decisions on the best arm and decisions per second through the plugin ABI. \
            Example: arbiter simulate --arms 0.1,0.2,0.3 --horizon 5000 --strategies thompson,dts=thompson \
            --param dts.discount=0.99 --drift
            """
    )

    @OptionGroup var plugins: PluginOptions

    @Option(help: "Comma-separated Bernoulli means of the arms.")
    var arms = "0.05,0.10,0.15,0.20,0.25,0.30,0.35,0.40,0.45,0.50"

    @Option(help: "Decisions per run.")
    var horizon = 10_000

    @Option(help: "Independent runs per strategy.")
    var runs = 20

    @Option(help: "Comma-separated strategies: plugin names, aliases (ucb1, ucb1-tuned, kl-ucb) or LABEL=NAME.")
    var strategies = "thompson,epsilon-greedy,ucb1"

    @Option(name: .customLong("param"), help: ArgumentHelp("A strategy parameter, LABEL.NAME=VALUE (repeatable).", valueName: "assignment"))
    var parameters: [String] = []

    @Option(help: "Seed of the environment and of every decision.")
    var seed: UInt64 = 1

    @Flag(help: "Reverse the arm means halfway through the horizon.")
    var drift = false

    @Option(help: "Apply feedback in batches every N decisions.")
    var delay = 1

    @Option(name: .customLong("curve-points"), help: "Points of the regret curve in the JSON output.")
    var curvePoints = 20

    @Option(help: "Output format: table, csv or json.")
    var format: SimulationReport.Format = .table

    @Option(help: ArgumentHelp("Also draw the cumulative regret curves (mean ± sd over the runs) to this SVG file.", valueName: "file"))
    var plot: String?

    @Option(help: ArgumentHelp("Write the run's decisions and feedback as a decision log for `arbiter evaluate --log` (one strategy, --runs 1).", valueName: "file"))
    var log: String?

    func run() throws {
        let means = arms.split(separator: ",").map { Double($0.trimmingCharacters(in: " ")) }
        guard !means.contains(where: { $0 == nil }) else {
            throw ValidationError("--arms must be comma-separated numbers, got '\(arms)'")
        }
        let settings = SimulationSettings(
            armMeans: means.compactMap { $0 }, horizon: horizon, runs: runs, seed: seed,
            drift: drift, delay: delay, curvePoints: curvePoints)
        do {
            let specs = try StrategySpec.parse(list: strategies, assignments: parameters)
            if let log {
                guard specs.count == 1, runs == 1 else {
                    throw ValidationError("--log writes one run of one strategy: give one strategy and --runs 1")
                }
                let text = try Simulator(catalog: plugins.load()).log(settings, strategy: specs[0]).lines
                do { try text.write(toFile: log, atomically: true, encoding: .utf8) } catch {
                    throw CommandFailure("cannot write the log \(log): \(error)")
                }
                print("wrote \(settings.horizon) decisions of \(specs[0].label) to \(log)")
                return
            }
            let report = try Simulator(catalog: plugins.load()).run(settings, strategies: specs)
            if let plot {
                do { try report.plot.write(toFile: plot, atomically: true, encoding: .utf8) } catch {
                    throw CommandFailure("cannot write the plot \(plot): \(error)")
                }
            }
            print(report.rendered(as: format))
        } catch let error as InvalidRequest {
            throw ValidationError(error.message)
        } catch let error as PluginCallError {
            throw ValidationError(error.description)
        }
    }
}

extension SimulationReport.Format: ExpressibleByArgument {}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
