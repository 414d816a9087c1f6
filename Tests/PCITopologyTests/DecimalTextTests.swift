import Testing
@testable import PCITopology

@Suite struct DecimalTextTests {
    @Test func roundsToTheGivenPlacesAndPadsTheFraction() {
        #expect(format2(0.5) == "0.50")
        #expect(format2(12.345) == "12.35" || format2(12.345) == "12.34")  // binary 12.345 sits just below
        #expect(format2(3.999) == "4.00")
        #expect(format2(0.04) == "0.04")
        #expect(format1(2.25) == "2.3" || format1(2.25) == "2.2")
        #expect(format1(7.96) == "8.0")
        #expect(format1(0) == "0.0")
    }

    @Test func negativeValuesKeepTheirSignOnTheWholeNumber() {
        // The per-module copies this replaced printed -0.5 as "0.0-50".
        #expect(format2(-0.5) == "-0.50")
        #expect(format1(-12.34) == "-12.3")
        #expect(format2(-0.001) == "0.00")
    }

    /// Figures read from files reach these (hwloc's NVLink bandwidth): the fuzzer's 1e300 trapped.
    @Test func figuresNoIntegerHoldsAreWrittenNotTrapped() {
        #expect(format1(.infinity) == "inf")
        #expect(format1(-.infinity) == "-inf")
        #expect(format2(.nan) == "nan")
        #expect(format1(1e300) == "1e+300")
        #expect(format1(1e17) == "100000000000000000.0")
    }
}
