import Testing
@testable import TerminalUI

/// The output edge's sanitiser: what a terminal would obey is shown, everything else passes.
@Suite struct TerminalTextTests {
    @Test func controlsAndBidiMarksAreShownAsEscapes() {
        #expect(TerminalText.visible("a\u{1b}]52;c;eA==\u{7}b") == "a\\x1b]52;c;eA==\\x07b")
        #expect(TerminalText.visible("\u{9b}31m\u{202e}x\u{7f}\u{2066}") == "\\u009b31m\\u202ex\\x7f\\u2066")
        #expect(TerminalText.visible("line\nnext\ttab") == "line\\x0anext\\x09tab", "a cell's text is one line")
        #expect(TerminalText.visible("line\nnext\ttab", keepLines: true) == "line\nnext\ttab")
        // Plain text, box drawing and other non-Latin text pass untouched (the fast path's
        // E2 and C2 lead bytes included: ─ → … · é).
        for s in ["nvme0 (03:00.0) ─── gpu0 → host … ·", "Café déjà vu", "日本語", "µs ±2"] { #expect(TerminalText.visible(s) == s) }
    }

    @Test func onlyStylesOwnColoursSurviveKeepStyle() {
        let styled = "\u{1b}[1mbold\u{1b}[0m \u{1b}[31mred\u{1b}[0m"
        #expect(TerminalText.visible(styled, keepStyle: true) == styled)
        // Anything else starting with ESC is shown: cursor moves, clear screen, conceal, OSC.
        for evil in ["\u{1b}[2J", "\u{1b}[8m", "\u{1b}[1;31m", "\u{1b}[H", "\u{1b}]0;t\u{7}"] {
            #expect(!TerminalText.visible(evil, keepStyle: true).contains("\u{1b}"), "\(evil.debugDescription)")
        }
    }

    @Test func theCanvasDrawsEscapesNotControls() {
        var c = Canvas(width: 40, height: 1)
        c.put("x\u{1b}[2Jy", x: 0, y: 0)
        #expect(c.lines[0].hasPrefix("x\\x1b[2Jy"))
        #expect(!c.lines[0].unicodeScalars.contains { TerminalText.isUnsafe($0.value) })
    }
}
