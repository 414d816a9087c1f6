/// Fixed-point text for figures shown to people (GB/s, ms, GT/s): `format1(2.25)` is "2.3",
/// `format2(0.5)` is "0.50". Integer arithmetic keeps it free of locale and Foundation.
public func format1(_ v: Double) -> String { fixedPoint(v, places: 1) }

public func format2(_ v: Double) -> String { fixedPoint(v, places: 2) }

func fixedPoint(_ v: Double, places: Int) -> String {
    var scale = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = Int((abs(v) * Double(scale)).rounded())
    let frac = String(scaled % scale)
    let padded = String(repeating: "0", count: places - frac.count) + frac
    return "\(v < 0 && scaled != 0 ? "-" : "")\(scaled / scale).\(padded)"
}
