/// A linear scale from data values to a span of the drawing, with "nice"
/// tick values (1, 2 or 5 times a power of ten apart).
struct Axis {
    let lower: Double
    let upper: Double
    let ticks: [Double]
    /// Digits after the point the ticks need.
    let decimals: Int

    /// An axis covering `values` (padded to nice bounds when `nice`), about
    /// `count` ticks. A degenerate range is widened around its value.
    init(covering values: [Double], count: Int = 5, nice: Bool = true, includingZero: Bool = false) {
        var low = values.filter(\.isFinite).min() ?? 0
        var high = values.filter(\.isFinite).max() ?? 1
        if includingZero { low = min(low, 0); high = max(high, 0) }
        if high - low < 1e-12 {
            let pad = abs(low) > 1e-12 ? abs(low) * 0.1 : 1
            low -= pad
            high += pad
        }
        let step = Axis.niceStep((high - low) / Double(max(1, count)))
        if nice {
            low = (low / step).rounded(.down) * step
            high = (high / step).rounded(.up) * step
        }
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step * 1e-9, ticks.count < 50 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        lower = low
        upper = high
        self.ticks = ticks
        var decimals = 0
        var scaled = step
        while scaled < 0.999_999, decimals < 9 {
            scaled *= 10
            decimals += 1
        }
        self.decimals = decimals
    }

    /// A time axis (milliseconds since the epoch) over `values`, ticks on
    /// whole minutes, hours or days about `count` apart.
    init(times values: [Double], count: Int = 6) {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0
        var high = finite.max() ?? 3_600_000
        if high - low < 60_000 {
            low -= 30 * 60_000
            high += 30 * 60_000
        }
        let minute = 60_000.0, hour = 60 * minute, day = 24 * hour
        let steps = [minute, 5 * minute, 15 * minute, 30 * minute, hour, 3 * hour, 6 * hour, 12 * hour, day, 2 * day, 7 * day, 30 * day]
        let step = steps.first { (high - low) / $0 <= Double(max(1, count)) } ?? 30 * day
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high, ticks.count < 50 {
            ticks.append(tick)
            tick += step
        }
        lower = low
        upper = high
        self.ticks = ticks
        decimals = 0
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        for factor in [1.0, 2, 5, 10] where power * factor >= raw { return power * factor }
        return power * 10
    }

    /// Where `value` falls between `start` and `end` (drawing units).
    func position(_ value: Double, from start: Double, to end: Double) -> Double {
        start + (value - lower) / (upper - lower) * (end - start)
    }

    func label(_ value: Double) -> String {
        abs(value) >= 10_000 ? SVGText.compact(value) : SVGText.fixed(value, decimals: decimals)
    }
}
