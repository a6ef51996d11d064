import Foundation

/// A bar chart drawn on the server as inline SVG: no script, no external file, readable without colour (each bar
/// carries its value as text). Screen readers get the `title` and `desc`; the page puts the same figures in a table
/// beside it.
public struct WebChart: Sendable {
    public struct Bar: Sendable, Hashable {
        public var label: String
        public var value: Double
        /// The value as the page's language writes it.
        public var text: String

        public init(label: String, value: Double, text: String) {
            self.label = label
            self.value = value
            self.text = text
        }
    }

    public enum Shape: Sendable { case rows, columns }

    public var id: String
    public var title: String
    public var description: String
    public var bars: [Bar]
    public var shape: Shape

    public init(id: String, title: String, description: String, bars: [Bar], shape: Shape = .rows) {
        self.id = id
        self.title = title
        self.description = description
        self.bars = bars
        self.shape = shape
    }

    /// The `<svg>` element; every text in it escaped.
    public var svg: String {
        let body = self.shape == .rows ? self.rows() : self.columns()
        let (width, height) = self.size
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 \(width) \(height)" role="img" \
            aria-labelledby="\(Self.escape(self.id))-title \(Self.escape(self.id))-desc" id="\(Self.escape(self.id))">\
            <title id="\(Self.escape(self.id))-title">\(Self.escape(self.title))</title>\
            <desc id="\(Self.escape(self.id))-desc">\(Self.escape(self.description))</desc>\(body)</svg>
            """
    }

    var size: (Int, Int) {
        switch self.shape {
        case .rows: (600, max(1, self.bars.count) * 28 + 8)
        case .columns: (600, 220)
        }
    }

    var maximum: Double { max(self.bars.map(\.value).max() ?? 0, 1) }

    /// One bar per row: the label on the left, the bar, the value at its end.
    func rows() -> String {
        var out = ""
        for (index, bar) in self.bars.enumerated() {
            let y = 4 + index * 28
            let width = Int((max(0, bar.value) / self.maximum * 300).rounded())
            out += """
                <text class="label" x="0" y="\(y + 18)">\(Self.escape(Self.short(bar.label, 28)))</text>\
                <rect class="bar" x="220" y="\(y + 4)" width="\(width)" height="20"></rect>\
                <text class="value" x="\(226 + width)" y="\(y + 19)">\(Self.escape(bar.text))</text>
                """
        }
        return out
    }

    /// One column per bar (months along the bottom), the value above it.
    func columns() -> String {
        let count = max(1, self.bars.count)
        let step = 580.0 / Double(count)
        let barWidth = max(2, step * 0.7)
        var out = #"<line class="axis" x1="10" y1="180" x2="590" y2="180"></line>"#
        for (index, bar) in self.bars.enumerated() {
            let height = Int((max(0, bar.value) / self.maximum * 140).rounded())
            let x = 10 + step * Double(index) + (step - barWidth) / 2
            let middle = Self.decimal(x + barWidth / 2)
            out += """
                <rect class="bar" x="\(Self.decimal(x))" y="\(180 - height)" width="\(Self.decimal(barWidth))" \
                height="\(height)"></rect>\
                <text class="value" x="\(middle)" y="\(174 - height)" text-anchor="middle">\(Self.escape(bar.text))</text>
                """
            // Every label when they fit, else every second or third one: months stay readable at 360 px.
            if index % max(1, (count + 11) / 12) == 0 {
                out += """
                    <text class="label" x="\(middle)" y="200" text-anchor="middle">\(Self.escape(bar.label))</text>
                    """
            }
        }
        return out
    }

    static func decimal(_ value: Double) -> String { String(format: "%.1f", value) }

    static func short(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// XML escaping for text and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
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
}
