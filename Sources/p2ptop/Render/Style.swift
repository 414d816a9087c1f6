import TerminalUI
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// ANSI styling for one-shot text output; a no-op when colour is off.
struct Style {
    var enabled: Bool

    func paint(_ s: String, _ code: String) -> String { enabled ? "\u{1b}[\(code)m\(s)\u{1b}[0m" : s }
    func bold(_ s: String) -> String { paint(s, "1") }
    func dim(_ s: String) -> String { paint(s, "2") }
    func warn(_ s: String) -> String { paint(s, "33") }
    func bad(_ s: String) -> String { paint(s, "31") }
    func good(_ s: String) -> String { paint(s, "32") }
    func accent(_ s: String) -> String { paint(s, "36") }
}

/// A diagnostic line on stderr, through the same sanitiser as stdout (no colours there).
func diagnose(_ s: String) {
    fputs(TerminalText.visible(s, keepLines: true), stderr)
}

/// Output goes through one buffered writer (stdout is fully buffered in main), fitted to the
/// terminal's width (`TextFit`) unless it must stay exact.
func emit(_ s: String, _ fitting: TextFit.Fitting = .wrap) {
    // The output edge: text from outside cannot reach the terminal as control sequences; the
    // only escapes kept are Style's colours.
    let text = TextFit.fit(TerminalText.visible(s, keepLines: true, keepStyle: true), fitting)
    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
}
