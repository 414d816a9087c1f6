/// Fixed-point text for figures shown to people (GB/s, ms, GT/s): `format1(2.25)` is "2.3",
/// `format2(0.5)` is "0.50". Integer arithmetic keeps it free of locale and Foundation.
public func format1(_ v: Double) -> String { fixedPoint(v, places: 1) }

public func format2(_ v: Double) -> String { fixedPoint(v, places: 2) }

func fixedPoint(_ v: Double, places: Int) -> String {
    var scale = 1
    for _ in 0..<places { scale *= 10 }
    // Figures can come from files (a bandwidth in hwloc XML): never trap on inf, nan or 1e300.
    guard v.isFinite else { return v.isNaN ? "nan" : (v < 0 ? "-inf" : "inf") }
    let magnitude = (abs(v) * Double(scale)).rounded()
    guard magnitude < 9e18 else { return "\(v)" }
    let scaled = Int(magnitude)
    let frac = String(scaled % scale)
    let padded = String(repeating: "0", count: places - frac.count) + frac
    return "\(v < 0 && scaled != 0 ? "-" : "")\(scaled / scale).\(padded)"
}
