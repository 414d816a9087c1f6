/// The bundled themes, the same text as `themes/*.toml` (a test keeps them identical), so the
/// binary needs no files to start.
public enum BuiltinThemes {
    public static let names = ["default", "light", "high-contrast", "mono"]

    public static func text(_ name: String) -> String? {
        switch name {
        case "default": return DefaultText
        case "light": return LightText
        case "high-contrast": return HighContrastText
        case "mono": return MonoText
        default: return nil
        }
    }

    static let DefaultText = """
# p2ptop theme "default": dark terminal background
[colors]
text = "default"
dim = "#8a8a8a"
accent = "cyan"
good = "green"
warn = "yellow"
bad = "bright-red"
border = "#5f87af"
title = "bright-white"
selection_fg = "black"
selection_bg = "cyan"
header_fg = "black"
header_bg = "#5f87af"

[options]
bold_titles = true

"""

    static let LightText = """
# p2ptop theme "light": light terminal background
[colors]
text = "default"
dim = "#6c6c6c"
accent = "blue"
good = "#008700"
warn = "#af5f00"
bad = "#d70000"
border = "#5f5f87"
title = "black"
selection_fg = "white"
selection_bg = "blue"
header_fg = "white"
header_bg = "#5f5f87"

[options]
bold_titles = true

"""

    static let HighContrastText = """
# p2ptop theme "high-contrast": for projectors — no subtle greys, strong colours on black
[colors]
text = "bright-white"
dim = "white"
accent = "bright-cyan"
good = "bright-green"
warn = "bright-yellow"
bad = "bright-red"
border = "bright-white"
title = "bright-yellow"
selection_fg = "black"
selection_bg = "bright-yellow"
header_fg = "black"
header_bg = "bright-white"

[options]
bold_titles = true

"""

    static let MonoText = """
# p2ptop theme "mono": no colours at all; emphasis by bold, reverse and underline
[colors]
text = "default"
dim = "default"
accent = "default"
good = "default"
warn = "default"
bad = "default"
border = "default"
title = "default"
selection_fg = "default"
selection_bg = "default"
header_fg = "default"
header_bg = "default"

[options]
bold_titles = true

"""
}
