internal import JSON

/// Text for SVG documents: escaping and the number and time forms the
/// charts print on their axes.
enum SVGText {
    /// `text` with XML's special characters escaped.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// `value` with `decimals` digits after the point (no exponent).
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<max(0, decimals) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let negative = value < 0 && scaled > 0
        let whole = Int64(scaled / scale)
        var text = (negative ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = Int64(scaled - Double(whole) * scale)
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
        }
        return text
    }

    /// A coordinate, to two decimals.
    static func coordinate(_ value: Double) -> String { fixed(value, decimals: 2) }

    /// A short human form: 1234567 as "1.23M", 0.1234 as "0.123".
    static func compact(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e9 { return fixed(value / 1e9, decimals: 2) + "G" }
        if magnitude >= 1e6 { return fixed(value / 1e6, decimals: 2) + "M" }
        if magnitude >= 1e4 { return fixed(value / 1e3, decimals: 1) + "k" }
        if magnitude >= 100 || magnitude == 0 { return fixed(value, decimals: 0) }
        if magnitude >= 1 { return fixed(value, decimals: 2) }
        return fixed(value, decimals: 3)
    }

    /// A time (milliseconds since the epoch) as UTC "MM-DD HH:MM": the
    /// middle of the API's own form of times.
    static func time(_ milliseconds: Double) -> String {
        let text = RFC3339.text(milliseconds: Int64((milliseconds / 1000).rounded(.down)) * 1000)  // 2026-12-05T13:00:00Z
        let month = text.index(text.firstIndex(of: "-")!, offsetBy: 1)
        let minutes = text.index(text.firstIndex(of: "T")!, offsetBy: 6)
        return String(text[month..<minutes].map { $0 == "T" ? " " : $0 })
    }
}

/// Numbers as the plots' titles print them, for those who build titles.
public enum SVGPlotNumber {
    /// A short form: 0.05, 12, 1.23M.
    public static func short(_ value: Double) -> String {
        var text = SVGText.compact(value)
        guard text.contains("."), let last = text.last, last.isNumber else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
