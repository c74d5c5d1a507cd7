internal import Plots

extension ExperimentReport {
    /// The report drawn: per strategy, the mean reward of each period with
    /// its 95% interval, and its share of the period's decisions, the
    /// experiment's changes marked on both (hourly periods, daily past a week
    /// of them). `arbiter report --plot` and the dashboard draw it.
    public var plot: String {
        let periods = hourly.count <= 168 ? hourly : daily
        let width: Int64 = hourly.count <= 168 ? 3_600_000 : 86_400_000
        let names = strategies.map(\.line.name)
        var reward: [LineChart.Series] = []
        var traffic: [LineChart.Series] = []
        for name in names {
            var rewardPoints: [LineChart.Point] = []
            var trafficPoints: [LineChart.Point] = []
            for period in periods {
                let middle = Double(period.start + width / 2)
                let total = period.strategies.reduce(0) { $0 + $1.figures.decisions }
                guard let figures = period.strategies.first(where: { $0.name == name })?.figures else { continue }
                if total > 0 { trafficPoints.append(.init(x: middle, y: Double(figures.decisions) / Double(total))) }
                if let mean = figures.meanReward {
                    let interval = Interval.of(mean: mean, squares: figures.rewardSquares, weight: figures.feedbackWeight, bounded: boundedRewards)
                    rewardPoints.append(.init(x: middle, y: mean, low: interval.lower, high: interval.upper))
                }
            }
            reward.append(.init(name: name, points: rewardPoints))
            traffic.append(.init(name: name, points: trafficPoints))
        }
        let markers = changes.map { change in
            LineChart.Marker(x: Double(change.at), label: [change.kind, change.strategy, change.detail].compactMap { $0 }.joined(separator: " "))
        }
        let unit = width == 3_600_000 ? "hour" : "day"
        return SVGPlot.render(title: "Experiment \(experiment)", panels: [
            LineChart(title: "Mean reward per \(unit), 95% interval", xLabel: "time (UTC)", yLabel: "mean reward", xIsTime: true,
                      series: reward, markers: markers, xPadding: Double(width) / 2),
            LineChart(title: "Share of the \(unit)'s decisions", xLabel: "time (UTC)", yLabel: "traffic share", xIsTime: true,
                      series: traffic, markers: markers, fromZero: true, xPadding: Double(width) / 2),
        ])
    }

    /// Each strategy's mean reward per arm with its 95% interval (arms
    /// without feedback left out).
    public var armPlot: String {
        var rows: [IntervalChart.Row] = []
        for strategy in strategies {
            for arm in strategy.arms {
                guard let mean = arm.figures.meanReward, let interval = arm.interval else { continue }
                rows.append(.init(label: arm.name, group: strategy.line.name, estimate: mean, low: interval.lower, high: interval.upper))
            }
        }
        return IntervalChart(title: "Experiment \(experiment): mean reward per arm, 95% interval", xLabel: "mean reward", rows: rows).svg()
    }
}
