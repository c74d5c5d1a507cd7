/// Colours of series, told apart also by readers with colour-blindness
/// (Okabe and Ito's palette), in the order series are given them.
enum Palette {
    static let colors = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#666666", "#000000"]

    static func color(_ index: Int) -> String { colors[index % colors.count] }
}
