/// Estimates with their intervals, one row each (an arm under a strategy),
/// on a shared horizontal scale: where people would rather look than read
/// which arm leads and how sure that is.
public struct IntervalChart: Sendable {
    public struct Row: Sendable {
        public var label: String
        /// The series it belongs to (a strategy), which gives its colour.
        public var group: String
        public var estimate: Double
        public var low: Double
        public var high: Double

        public init(label: String, group: String, estimate: Double, low: Double, high: Double) {
            self.label = label
            self.group = group
            self.estimate = estimate
            self.low = low
            self.high = high
        }
    }

    public var title: String
    public var xLabel: String
    public var rows: [Row]

    public init(title: String, xLabel: String, rows: [Row]) {
        self.title = title
        self.xLabel = xLabel
        self.rows = rows
    }

    /// The chart as a standalone SVG document.
    public func svg(width: Double = 800) -> String {
        let rowHeight = 22.0, top = 48.0, left = 190.0, right = width - 40
        let height = top + Double(max(rows.count, 1)) * rowHeight + 56
        let axis = Axis(covering: rows.flatMap { [$0.low, $0.high, $0.estimate] }, count: 6)
        func x(_ value: Double) -> Double { axis.position(value, from: left, to: right) }
        let c = SVGText.coordinate
        let bottom = top + Double(max(rows.count, 1)) * rowHeight
        var groups: [String] = []
        for row in rows where !groups.contains(row.group) { groups.append(row.group) }
        var svg = SVGPlot.header(width: width, height: height, title: title)
        svg += "<text x=\"\(c(width / 2))\" y=\"24\" text-anchor=\"middle\" class=\"title\" font-size=\"15\" font-weight=\"bold\">\(SVGText.escaped(title))</text>\n"
        for tick in axis.ticks {
            svg += "<line class=\"grid\" stroke=\"#ddd\" stroke-width=\"1\" x1=\"\(c(x(tick)))\" x2=\"\(c(x(tick)))\" y1=\"\(c(top))\" y2=\"\(c(bottom))\"/>"
            svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c(x(tick)))\" y=\"\(c(bottom + 16))\" text-anchor=\"middle\">\(axis.label(tick))</text>\n"
        }
        svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c((left + right) / 2))\" y=\"\(c(bottom + 36))\" text-anchor=\"middle\">\(SVGText.escaped(xLabel))</text>\n"
        for (index, row) in rows.enumerated() {
            let color = Palette.color(groups.firstIndex(of: row.group) ?? 0)
            let y = top + (Double(index) + 0.5) * rowHeight
            let label = "\(row.group) · \(row.label)"
            svg += "<g class=\"row\"><title>\(SVGText.escaped(label)): \(SVGText.compact(row.estimate)) [\(SVGText.compact(row.low)), \(SVGText.compact(row.high))]</title>"
            svg += "<text x=\"\(c(left - 8))\" y=\"\(c(y + 4))\" text-anchor=\"end\">\(SVGText.escaped(label))</text>"
            svg += "<line stroke=\"\(color)\" stroke-width=\"3\" x1=\"\(c(x(row.low)))\" x2=\"\(c(x(row.high)))\" y1=\"\(c(y))\" y2=\"\(c(y))\"/>"
            svg += "<circle cx=\"\(c(x(row.estimate)))\" cy=\"\(c(y))\" r=\"5\" fill=\"\(color)\"/></g>\n"
        }
        if rows.isEmpty {
            svg += "<text class=\"axis\" fill=\"#444\" x=\"\(c((left + right) / 2))\" y=\"\(c(top + 14))\" text-anchor=\"middle\">no data yet</text>\n"
        }
        return svg + "</svg>\n"
    }
}
