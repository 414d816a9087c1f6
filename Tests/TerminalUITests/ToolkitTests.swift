import Foundation
import Testing
@testable import TerminalUI

@Suite struct CanvasTests {
    @Test func putClipsAndReturnsNextColumn() {
        var c = Canvas(width: 10, height: 2)
        #expect(c.put("hello world", x: 2, y: 0) == 10)
        #expect(c.lines[0] == "  hello wo")
        c.put("abc", x: -1, y: 1)
        #expect(c.lines[1].hasPrefix("bc"))
        c.put("zzz", x: 0, y: 5)   // off screen: ignored
        #expect(c.lines.count == 2)
    }

    @Test func blockListAndScrolling() {
        var c = Canvas(width: 20, height: 6)
        Block(title: "T").render(in: c.area, on: &c)
        #expect(c.lines[0].hasPrefix("┌─ T ─") && c.lines[5].hasPrefix("└"))
        var state = ListState(selected: 9)
        ListView((0..<10).map { [Span("item \($0)")] }, highlight: Style(.reverse)).render(in: c.area.inner, on: &c, state: &state)
        #expect(state.offset == 6 && c.lines[4].contains("item 9"))
        #expect(c[1, 4].style.attributes.contains(.reverse))
    }

    @Test func asciiOnlyAndMonochrome() {
        var c = Canvas(width: 12, height: 3)
        c.asciiOnly = true
        c.monochrome = true
        Block(title: "x", style: Style(fg: .red)).render(in: c.area, on: &c)
        #expect(c.lines[0] == "+- x ------+" && c[0, 0].style.fg == .default)
        Gauge(ratio: 0.5, filled: Style(fg: .green)).render(in: Rect(x: 1, y: 1, width: 10, height: 1), on: &c)
        #expect(c.lines[1] == "|#####.....|")
    }

    @Test func sparklineScalesToMaximum() {
        var c = Canvas(width: 4, height: 1)
        Sparkline([0, 4, 8, 8], maximum: 8).render(in: c.area, on: &c)
        #expect(c.lines[0] == " ▄██")
    }

    @Test func dialogIsCentred() {
        var c = Canvas(width: 40, height: 10)
        let d = Dialog(title: "Keys", lines: [[Span("q quit")]])
        let a = d.area(in: c.area)
        #expect(a.x > 0 && a.maxX < 40 && a.height == 3)
        d.render(in: c.area, on: &c)
        #expect(c.text.contains("q quit"))
    }

    @Test func rectSplits() {
        let r = Rect(x: 0, y: 0, width: 80, height: 24)
        #expect(r.rows(1).0.height == 1 && r.rows(1).1.height == 23 && r.rows(-1).0.y == 23)
        #expect(r.columns(-10).0.x == 70 && Rect(x: 0, y: 0, width: 1, height: 1).inner.isEmpty)
    }
}

@Suite struct ThemeTests {
    static let repoThemes: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes")

    @Test(arguments: BuiltinThemes.names)
    func bundledThemesMatchTheFilesAndParse(_ name: String) throws {
        let file = try String(contentsOf: Self.repoThemes.appendingPathComponent("\(name).toml"), encoding: .utf8)
        #expect(file == BuiltinThemes.text(name), "themes/\(name).toml and the bundled copy differ")
        let t = try Theme.parse(file, name: name, file: "\(name).toml")
        #expect(t.title.attributes.contains(.bold))
    }

    @Test func highContrastHasNoGreys() throws {
        let t = try Theme.load("high-contrast", readFile: { _ in nil })
        for s in [t.text, t.dim, t.border] {
            if case .indexed(let i) = s.fg { #expect(!(232...255).contains(i) && i != 8) }
        }
    }

    @Test func badThemesNameFileLineAndKey() {
        func error(_ text: String) -> Theme.LoadError? {
            do { _ = try Theme.parse(text, name: "x", file: "mine.toml"); return nil } catch { return error }
        }
        #expect(error("[colors]\ntext = \"default\"\nsparkle = \"red\"\n")?.description.hasPrefix("mine.toml:3: key 'sparkle': unknown colour key") == true)
        #expect(error("[colors]\naccent = \"#12345\"\n")?.description.hasPrefix("mine.toml:2: key 'accent': bad colour") == true)
        #expect(error("[colours]\n")?.line == 1)
        #expect(error("text = \"red\"\n")?.message.contains("outside a table") == true)
        #expect(error("[options]\nbold_titles = maybe\n")?.key == "bold_titles")
        #expect(throws: Theme.LoadError.self) { try Theme.load("/nonexistent.toml", readFile: { _ in nil }) }
    }

    @Test func rgbMapsToTheNearest256Colour() {
        #expect(Color.rgb(0, 0, 0) == .indexed(16) && Color.rgb(255, 255, 255) == .indexed(231))
        #expect(Color.rgb(0x5f, 0x87, 0xaf) == .indexed(67))
        #expect(Color.rgb(128, 128, 128) == .indexed(244))
    }
}

@Suite struct ChartTests {
    @Test func brailleChartPlotsAndDrawsTheReference() {
        var c = Canvas(width: 4, height: 2)
        BrailleChart([0, 10, 10, 10, 10, 10, 10, 10], maximum: 10).render(in: c.area, on: &c)
        // A full-height column pair is ⣿ (all eight dots), the first cell has one empty column.
        #expect(c.lines[0].last == "⣿" && c.lines[1].last == "⣿")
        var r = Canvas(width: 6, height: 2)
        BrailleChart([], maximum: 10, reference: 10).render(in: r.area, on: &r)
        #expect(r.lines[0].contains("┄"))
    }

    @Test func heatmapShadesByValue() {
        var c = Canvas(width: 4, height: 1)
        Heatmap([0, 1, 5, 10], maximum: 10, levels: [Style(), Style(fg: .green), Style(fg: .yellow), Style(fg: .red)]).render(in: c.area, on: &c)
        #expect(c[0, 0].character == "·" && c[3, 0].character == "█" && c[3, 0].style.fg == .red && c[1, 0].style.fg == .green)
    }
}

@Suite struct TableTests {
    static let columns = [TableColumn("NAME", width: 6), TableColumn("RATE", width: 6, numeric: true)]
    static func row(_ name: String, _ rate: Double?) -> TableRow {
        TableRow(cells: [Span(name), Span(rate.map { "\(Int($0))" } ?? "?")], keys: [.text(name), rate.map { .number($0) } ?? .unknown])
    }
    static let rows = [row("b", 5), row("a", nil), row("c", 50), row("d", 5)]

    @Test func sortsByTheCursorColumnNumbersLargestFirstUnknownLast() {
        var s = TableState()
        #expect(s.order(Self.rows) == [0, 1, 2, 3], "unsorted: as given")
        s.cursorColumn = 1; s.sortByCursor(Self.columns)
        #expect(s.order(Self.rows) == [2, 0, 3, 1], "largest first, ties stable, unknown last")
        s.sortByCursor(Self.columns)
        #expect(s.order(Self.rows) == [0, 3, 2, 1], "reversed; unknown still last")
        s.cursorColumn = 0; s.sortByCursor(Self.columns)
        #expect(s.order(Self.rows) == [1, 0, 2, 3] && !s.descending, "text A→Z")
    }

    @Test func headerMarksCursorAndSortAndClicksFindTheirColumn() {
        var s = TableState()
        s.cursorColumn = 1; s.sortByCursor(Self.columns)
        var c = Canvas(width: 20, height: 6)
        Table(columns: Self.columns, rows: Self.rows, header: Style(), highlight: Style().reversed()).render(in: c.area, on: &c, state: &s)
        #expect(c.lines[0].hasPrefix("NAME   RATE▼") && c.lines[1].hasPrefix("c      50"))
        #expect(c[7, 0].style.attributes.contains(.underline) && !c[0, 0].style.attributes.contains(.underline))
        #expect(TableState.column(at: 3, from: 0, Self.columns) == 0 && TableState.column(at: 8, from: 0, Self.columns) == 1)
        #expect(TableState.column(at: 19, from: 0, Self.columns) == nil)
    }
}
