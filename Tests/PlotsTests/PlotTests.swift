import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Plots
import Testing
import TestSupport

/// The elements of an SVG document, read with an XML parser: a plot must be
/// well-formed XML to open anywhere.
final class SVGElements: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []
    private var text = ""

    static func parse(_ svg: String) throws -> SVGElements {
        let reader = SVGElements()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = reader
        guard parser.parse() else { throw parser.parserError ?? CocoaError(.fileReadCorruptFile) }
        return reader
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((name, attributes))
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" || name == "title" { texts.append(text) }
        text = ""
    }

    func all(_ name: String) -> [[String: String]] { elements.filter { $0.name == name }.map(\.attributes) }
}

@Suite("SVG plots")
struct PlotTests {
    @Test("axes get nice ticks that cover the data")
    func ticks() {
        let axis = Axis(covering: [0.13, 0.87], count: 5)
        #expect(axis.lower <= 0.13 && axis.upper >= 0.87)
        #expect(axis.lower == 0 && axis.upper == 1)
        let expected = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
        #expect(axis.ticks.count == expected.count && zip(axis.ticks, expected).allSatisfy { abs($0 - $1) < 1e-9 }, "\(axis.ticks)")
        #expect(axis.decimals == 1)
        #expect(axis.label(0.4) == "0.4")
        let flat = Axis(covering: [3, 3])
        #expect(flat.lower < 3 && flat.upper > 3, "a single value is widened around")
        #expect(Axis.niceStep(0.37) == 0.5 && Axis.niceStep(1_300) == 2_000 && Axis.niceStep(7) == 10)
        #expect(SVGText.fixed(-0.25, decimals: 1) == "-0.3")
        #expect(SVGText.fixed(-0.01, decimals: 1) == "0.0", "no negative zero")
        #expect(SVGText.fixed(12.3456, decimals: 2) == "12.35")
        #expect(SVGText.fixed(3.05, decimals: 3) == "3.050")
        #expect(SVGPlotNumber.short(0.05) == "0.05" && SVGPlotNumber.short(12) == "12")
        #expect(SVGText.fixed(7, decimals: 0) == "7")
        #expect(SVGText.compact(1_234_567) == "1.23M")
        #expect(SVGText.time(1_764_939_600_000) == "12-05 13:00", "2025-12-05 13:00 UTC")
    }

    @Test("a line chart: one line and one band per series, inside the frame, names escaped, a marker per change")
    func lines() throws {
        let chart = LineChart(title: "Regret <K=3>", xLabel: "decisions", yLabel: "cumulative regret", series: [
            .init(name: "thompson", points: (0...10).map { .init(x: Double($0 * 100), y: Double($0) * 2, low: Double($0) * 1.5, high: Double($0) * 2.5) }),
            .init(name: "ucb & co", points: (0...10).map { .init(x: Double($0 * 100), y: Double($0) * 3) }),
        ], markers: [.init(x: 500, label: "weights changed")], fromZero: true)
        let svg = SVGPlot.render(title: "A <plot>", panels: [chart, chart])
        let document = try SVGElements.parse(svg)
        #expect(document.all("polyline").count == 4, "two series in each of two panels")
        #expect(document.all("polygon").count == 2, "one band per panel: the series without one has none")
        #expect(document.texts.contains("ucb & co") && document.texts.contains("A <plot>"))
        #expect(document.all("line").filter { $0["class"] == "marker" }.count == 2)
        // Every point lies inside its panel's frame.
        let frames = document.all("rect").filter { $0["class"] == "frame" }.compactMap { frame -> (Double, Double, Double, Double)? in
            guard let x = Double(frame["x"] ?? ""), let y = Double(frame["y"] ?? ""), let w = Double(frame["width"] ?? ""),
                  let h = Double(frame["height"] ?? "") else { return nil }
            return (x, y, x + w, y + h)
        }
        #expect(frames.count == 2)
        for circle in document.all("circle") {
            let x = Double(circle["cx"] ?? "") ?? -1, y = Double(circle["cy"] ?? "") ?? -1
            #expect(frames.contains { x >= $0.0 - 0.01 && x <= $0.2 + 0.01 && y >= $0.1 - 0.01 && y <= $0.3 + 0.01 }, "(\(x), \(y))")
        }
        // The y axis starts at zero: the first point of each series sits on the frame's bottom.
        let first = try #require(document.all("circle").first)
        #expect(abs((Double(first["cy"] ?? "") ?? 0) - frames[0].3) < 0.01)
    }

    @Test("arbiter simulate --plot draws each strategy's regret curve with its band, and still prints its report")
    func simulatePlot() async throws {
        let directory = try TemporaryDirectory("arbiter-plot")
        defer { directory.remove() }
        let file = directory.file("regret.svg")
        let outcome = try await Command.outcome(TestPaths.buildDirectory + "/arbiter", [
            "simulate", "--plugin-dir", TestPaths.buildDirectory, "--runs", "4", "--horizon", "600", "--arms", "0.2,0.5",
            "--strategies", "thompson,ucb1", "--plot", file, "--format", "json"])
        #expect(outcome.status == 0, "\(outcome.error)")
        #expect(outcome.output.contains("arbiter.simulate/1"))
        let document = try SVGElements.parse(try String(contentsOfFile: file, encoding: .utf8))
        #expect(document.all("polyline").count == 2 && document.all("polygon").count == 2, "a line and a band per strategy")
        #expect(document.texts.contains("thompson") && document.texts.contains("ucb1"))
    }

    @Test("an interval chart: a row per estimate with its interval, ordered as given; empty data says so")
    func intervals() throws {
        let rows = [
            IntervalChart.Row(label: "a", group: "thompson", estimate: 0.3, low: 0.2, high: 0.4),
            IntervalChart.Row(label: "b", group: "thompson", estimate: 0.6, low: 0.5, high: 0.7),
            IntervalChart.Row(label: "a", group: "ucb", estimate: 0.35, low: 0.1, high: 0.6),
        ]
        let document = try SVGElements.parse(IntervalChart(title: "Mean reward", xLabel: "reward", rows: rows).svg())
        let circles = document.all("circle").compactMap { Double($0["cx"] ?? "") }
        #expect(circles.count == 3)
        #expect(circles[1] > circles[0], "a higher estimate lies further right")
        let bars = document.all("line").filter { $0["stroke-width"] == "3" }
        #expect(bars.count == 3)
        let widths = bars.map { abs((Double($0["x2"] ?? "") ?? 0) - (Double($0["x1"] ?? "") ?? 0)) }
        #expect(widths[2] > widths[0], "the wider interval is drawn wider")
        #expect(Set(bars.compactMap { $0["stroke"] }).count == 2, "one colour per strategy")
        let empty = try SVGElements.parse(IntervalChart(title: "x", xLabel: "y", rows: []).svg())
        #expect(empty.texts.contains("no data yet"))
    }
}
