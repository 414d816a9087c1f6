/// A one-line cell of a table or a pane cut to its width at a word boundary, with `…`: a name
/// too long for its column ends on a whole word ("Samsung NVMe SSD…"), never mid-word.
public enum TextCut {
    public static func words(_ s: String, _ width: Int) -> String {
        guard s.count > width else { return s }
        guard width > 1 else { return String(s.prefix(max(0, width))) }
        let head = s.prefix(width - 1)
        // The last space inside the room; a single word longer than the room is cut where it must be.
        if let space = head.lastIndex(of: " "), head.distance(from: head.startIndex, to: space) >= width / 3 {
            var kept = String(head[..<space])
            while kept.last == " " || kept.last == "," || kept.last == "[" || kept.last == "(" { kept.removeLast() }
            return kept + "…"
        }
        return String(head) + "…"
    }
}
