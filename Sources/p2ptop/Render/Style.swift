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

/// Output goes through one buffered writer (stdout is fully buffered in main), fitted to the
/// terminal's width (`TextFit`).
func emit(_ s: String) {
    let text = TextFit.fit(s)
    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
}
