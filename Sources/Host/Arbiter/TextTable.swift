/// Rows of cells as lines of aligned columns, two spaces apart. A row may
/// have more cells than the first (the header): those are appended as they are.
enum TextTable {
    static func lines(_ rows: [[String]]) -> [String] {
        guard let header = rows.first else { return [] }
        let widths = header.indices.map { column in rows.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column < widths.count ? cell + String(repeating: " ", count: widths[column] - cell.count) : cell
            }.joined(separator: "  ")
        }
    }
}
