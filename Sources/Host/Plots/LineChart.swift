/// Lines over a shared x axis, each with an optional band (an interval, or
/// mean ± sd), and vertical markers (changes): one panel of a plot.
public struct LineChart: Sendable {
    public struct Point: Sendable {
        public var x: Double
        public var y: Double
        public var low: Double?
        public var high: Double?

        public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil) {
            self.x = x
            self.y = y
            self.low = low
            self.high = high
        }
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]

        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }
    }

    public struct Marker: Sendable {
        public var x: Double
        public var label: String

        public init(x: Double, label: String) {
            self.x = x
            self.label = label
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// x values are times, milliseconds since the epoch.
    public var xIsTime: Bool
    public var series: [Series]
    public var markers: [Marker]
    /// The y axis starts at 0 (counts, regret).
    public var fromZero: Bool
    /// Room on either side of the data along x (data units): half a period
    /// of per-period points, so that none sits on the frame.
    public var xPadding: Double

    public init(title: String, xLabel: String, yLabel: String, xIsTime: Bool = false, series: [Series],
                markers: [Marker] = [], fromZero: Bool = false, xPadding: Double = 0) {
        self.xPadding = xPadding
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xIsTime = xIsTime
        self.series = series
        self.markers = markers
        self.fromZero = fromZero
    }
}

/// A plot: one or more panels stacked, as a standalone SVG document.
public enum SVGPlot {
    static let panelHeight = 300.0
    static let margin = (left: 64.0, right: 160.0, top: 36.0, bottom: 48.0)

    /// The panels stacked in one SVG document `width` units wide, which
    /// scales to its container (a viewBox) and opens anywhere.
    public static func render(title: String, panels: [LineChart], width: Double = 800) -> String {
        let height = 40 + Double(panels.count) * panelHeight
        var svg = header(width: width, height: height, title: title)
        svg += "<text x=\"\(SVGText.coordinate(width / 2))\" y=\"24\" text-anchor=\"middle\" class=\"title\" font-size=\"15\" font-weight=\"bold\">\(SVGText.escaped(title))</text>\n"
        for (index, panel) in panels.enumerated() {
            svg += draw(panel, top: 40 + Double(index) * panelHeight, width: width)
        }
        return svg + "</svg>\n"
    }

    static func header(width: Double, height: Double, title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(SVGText.coordinate(width)) \(SVGText.coordinate(height))" \
        width="\(SVGText.coordinate(width))" height="\(SVGText.coordinate(height))" role="img" aria-label="\(SVGText.escaped(title))" \
        font-family="sans-serif" font-size="12">
        <title>\(SVGText.escaped(title))</title>
        <rect width="100%" height="100%" fill="white"/>

        """
    }

    static func draw(_ chart: LineChart, top: Double, width: Double) -> String {
        let left = margin.left, right = width - margin.right
        let plotTop = top + margin.top, bottom = top + panelHeight - margin.bottom
        let points = chart.series.flatMap(\.points)
        let xs = points.flatMap { [$0.x - chart.xPadding, $0.x + chart.xPadding] } + chart.markers.map(\.x)
        let ys = points.flatMap { [$0.y, $0.low ?? $0.y, $0.high ?? $0.y] }
        let xAxis = chart.xIsTime ? Axis(times: xs) : Axis(covering: xs, count: 6)
        let yAxis = Axis(covering: ys, count: 5, includingZero: chart.fromZero)
        func x(_ value: Double) -> Double { xAxis.position(value, from: left, to: right) }
        func y(_ value: Double) -> Double { yAxis.position(value, from: bottom, to: plotTop) }
        let c = SVGText.coordinate
        var svg = "<g class=\"chart\">\n"
        svg += "<text x=\"\(c(left))\" y=\"\(c(top + 22))\" class=\"panel\" font-size=\"13\" font-weight=\"bold\">\(SVGText.escaped(chart.title))</text>\n"
        for tick in yAxis.ticks {
            svg += "<line class=\"grid\" stroke=\"#ddd\" stroke-width=\"1\" x1=\"\(c(left))\" x2=\"\(c(right))\" y1=\"\(c(y(tick)))\" y2=\"\(c(y(tick)))\"/>"
            svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c(left - 6))\" y=\"\(c(y(tick) + 4))\" text-anchor=\"end\">\(yAxis.label(tick))</text>\n"
        }
        for tick in xAxis.ticks {
            let label = chart.xIsTime ? SVGText.time(tick) : xAxis.label(tick)
            svg += "<line class=\"grid\" stroke=\"#ddd\" stroke-width=\"1\" x1=\"\(c(x(tick)))\" x2=\"\(c(x(tick)))\" y1=\"\(c(plotTop))\" y2=\"\(c(bottom))\"/>"
            svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c(x(tick)))\" y=\"\(c(bottom + 16))\" text-anchor=\"middle\">\(SVGText.escaped(label))</text>\n"
        }
        svg += "<rect class=\"frame\" stroke=\"#888\" fill=\"none\" x=\"\(c(left))\" y=\"\(c(plotTop))\" width=\"\(c(right - left))\" height=\"\(c(bottom - plotTop))\"/>\n"
        svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c((left + right) / 2))\" y=\"\(c(bottom + 36))\" text-anchor=\"middle\">\(SVGText.escaped(chart.xLabel))</text>\n"
        svg += "<text class=\"axis\" fill=\"#444\" transform=\"translate(\(c(left - 48)) \(c((plotTop + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(SVGText.escaped(chart.yLabel))</text>\n"
        for marker in chart.markers {
            svg += "<line class=\"marker\" stroke=\"#999\" stroke-dasharray=\"4 3\" x1=\"\(c(x(marker.x)))\" x2=\"\(c(x(marker.x)))\" y1=\"\(c(plotTop))\" y2=\"\(c(bottom))\"><title>\(SVGText.escaped(marker.label))</title></line>\n"
        }
        for (index, series) in chart.series.enumerated() {
            let color = Palette.color(index)
            let sorted = series.points.sorted { $0.x < $1.x }
            let banded = sorted.filter { $0.low != nil && $0.high != nil }
            if banded.count > 1 {
                let upper = banded.map { "\(c(x($0.x))),\(c(y($0.high!)))" }
                let lower = banded.reversed().map { "\(c(x($0.x))),\(c(y($0.low!)))" }
                svg += "<polygon fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\" points=\"\((upper + lower).joined(separator: " "))\"/>\n"
            } else if let only = banded.first {
                svg += "<line stroke=\"\(color)\" stroke-width=\"2\" x1=\"\(c(x(only.x)))\" x2=\"\(c(x(only.x)))\" y1=\"\(c(y(only.low!)))\" y2=\"\(c(y(only.high!)))\"/>\n"
            }
            if sorted.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(sorted.map { "\(c(x($0.x))),\(c(y($0.y)))" }.joined(separator: " "))\"/>\n"
            }
            for point in sorted where sorted.count <= 60 {
                svg += "<circle cx=\"\(c(x(point.x)))\" cy=\"\(c(y(point.y)))\" r=\"2.5\" fill=\"\(color)\"/>"
            }
            let legendY = plotTop + 8 + Double(index) * 18
            svg += "\n<rect x=\"\(c(right + 14))\" y=\"\(c(legendY - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(c(right + 32))\" y=\"\(c(legendY + 1))\">\(SVGText.escaped(series.name))</text>\n"
        }
        if chart.series.allSatisfy({ $0.points.isEmpty }) {
            svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c((left + right) / 2))\" y=\"\(c((plotTop + bottom) / 2))\" text-anchor=\"middle\">no data yet</text>\n"
        }
        return svg + "</g>\n"
    }
}
