internal import Plots

extension SimulationReport {
    /// The cumulative regret curves of the strategies, each with a band of
    /// mean ± sd over the runs (`arbiter simulate --plot`).
    public var plot: String {
        let series = strategies.map { strategy in
            LineChart.Series(name: strategy.label, points: strategy.curve.map {
                .init(x: Double($0.t), y: $0.mean, low: $0.mean - $0.sd, high: $0.mean + $0.sd)
            })
        }
        let arms = environment.arms.map { SVGPlotNumber.short($0) }.joined(separator: ", ")
        return SVGPlot.render(title: "Cumulative regret, \(environment.runs) runs (band: mean ± sd)", panels: [
            LineChart(title: "Arms \(arms)\(environment.drift ? ", reversed halfway" : "")", xLabel: "decisions",
                      yLabel: "cumulative regret", series: series, fromZero: true),
        ])
    }
}
