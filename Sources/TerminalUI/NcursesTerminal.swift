@preconcurrency import CNcurses
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Set by the signal handlers (installed before `initscr`); the loop sees it and leaves.
nonisolated(unsafe) public var terminalSignal: Int32 = 0

/// The ncurses backend: wide characters, 256 or 16 colours, optional mouse. `WINDOW *` stays
/// in this file.
public final class NcursesTerminal: Terminal {
    private let window: OpaquePointer
    private var pairs: [PairKey: Int16] = [:]
    private let colors: Int
    private var started = true

    struct PairKey: Hashable { var fg: Color; var bg: Color }

    /// Installs SIGINT/SIGTERM/SIGHUP handlers that only set a flag, then starts curses.
    public init(mouse: Bool) {
        // A parent may have left these blocked (threads of test runners, daemons): without
        // SIGWINCH there are no resizes, without SIGTERM no clean exit.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&set, sig) }
        sigprocmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in terminalSignal = s }
        }
        setlocale(LC_ALL, "")
        let w = initscr()!
        window = OpaquePointer(w)
        cbreak(); noecho(); nonl()
        keypad(w, true)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
        }
        colors = has_colors() ? Int(COLORS) : 0
        if mouse { mousemask(CN_BUTTON1_CLICKED | CN_BUTTON4_PRESSED | CN_BUTTON5_PRESSED, nil) }
        set_escdelay(25)
    }

    deinit { stop() }

    /// Restores the terminal (idempotent).
    public func stop() {
        guard started else { return }
        started = false
        endwin()
    }

    private var win: UnsafeMutablePointer<WINDOW> { UnsafeMutablePointer(window) }

    public var size: (width: Int, height: Int) { (Int(getmaxx(win)), Int(getmaxy(win))) }

    private func pair(_ fg: Color, _ bg: Color) -> Int16 {
        if fg == .default && bg == .default { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        guard colors > 0, pairs.count + 1 < Int(COLOR_PAIRS) else { return 0 }
        func number(_ c: Color) -> Int16 {
            switch c {
            case .default: return -1
            case .indexed(let i): return colors >= 256 ? Int16(i) : Int16(i % 8)
            }
        }
        let p = Int16(pairs.count + 1)
        init_pair(p, number(fg), number(bg))
        pairs[key] = p
        return p
    }

    public func draw(_ canvas: Canvas) {
        for y in 0..<canvas.height {
            var x = 0
            while x < canvas.width {
                let style = canvas[x, y].style
                var run = ""
                let start = x
                while x < canvas.width && canvas[x, y].style == style { run.append(canvas[x, y].character); x += 1 }
                var attrs = CN_A_NORMAL
                if style.attributes.contains(.bold) { attrs |= CN_A_BOLD }
                if style.attributes.contains(.reverse) { attrs |= CN_A_REVERSE }
                if style.attributes.contains(.underline) { attrs |= CN_A_UNDERLINE }
                if style.attributes.contains(.dim) { attrs |= CN_A_DIM }
                wattr_set(win, attrs, pair(style.fg, style.bg), nil)
                var wide = run.unicodeScalars.map { wchar_t(bitPattern: $0.value) } + [0]
                // The bottom-right cell cannot be written without scrolling: skip it.
                if y == canvas.height - 1 && x == canvas.width { wide.removeLast(2); wide.append(0) }
                mvwaddwstr(win, Int32(y), Int32(start), &wide)
            }
        }
        // That skipped cell still holds what a larger screen left there (`q:quitt` after a
        // resize): clearing to the end of the line from it blanks it without scrolling.
        if canvas.width > 0 && canvas.height > 0 {
            wattr_set(win, CN_A_NORMAL, pair(canvas[canvas.width - 1, canvas.height - 1].style.fg, canvas[canvas.width - 1, canvas.height - 1].style.bg), nil)
            wmove(win, Int32(canvas.height - 1), Int32(canvas.width - 1))
            wclrtoeol(win)
        }
        wrefresh(win)
    }

    public func poll(timeoutMs: Int) -> Event? {
        wtimeout(win, Int32(timeoutMs))
        var ch: wint_t = 0
        let r = wget_wch(win, &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            switch Int32(ch) {
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_BTAB: return .key(.backTab)
            case KEY_BACKSPACE: return .key(.backspace)
            case KEY_ENTER: return .key(.enter)
            case KEY_RESIZE: return .resize(width: size.width, height: size.height)
            case KEY_MOUSE:
                var m = MEVENT()
                if getmouse(&m) == OK { return .mouse(x: Int(m.x), y: Int(m.y), button: m.bstate & CN_BUTTON4_PRESSED != 0 ? 4 : (m.bstate & CN_BUTTON5_PRESSED != 0 ? 5 : 1)) }
                return nil
            case let k where k >= KEY_F0 && k <= KEY_F0 + 12: return .key(.function(Int(k - KEY_F0)))
            default: return nil
            }
        }
        switch ch {
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 9: return .key(.tab)
        case 127, 8: return .key(.backspace)
        default:
            guard let scalar = Unicode.Scalar(UInt32(ch)) else { return nil }
            return .key(.character(Character(scalar)))
        }
    }
}
