import Testing
import PCITopology

/// The one size formatter: exact units where one divides, a tenth of the next one otherwise
/// (the BAR map's 66048M is 64.5G), lspci's rule where the output must equal lspci's.
@Suite struct ByteSizeTests {
    @Test func shortProseAndLspci() {
        #expect(ByteSize.text(64 << 20) == "64M" && ByteSize.text(16 << 30) == "16G" && ByteSize.text(100) == "100B" && ByteSize.text(0) == "0B")
        #expect(ByteSize.text(66048 << 20) == "64.5G" && ByteSize.text(1536) == "1.5K" && ByteSize.text(1536 << 10) == "1.5M")
        #expect(ByteSize.text(8 << 20, .prose) == "8 MiB" && ByteSize.text(1, .prose) == "1 byte" && ByteSize.text(66048 << 20, .prose) == "64.5 GiB")
        #expect(ByteSize.text(66048 << 20, .lspci) == "66048M" && ByteSize.text(32, .lspci) == "32")
        #expect(ByteSize.text(8224 << 20) == "8224M" && ByteSize.text(123456789) == "117.7M", "a unit that divides is kept, an odd count is rounded")
        #expect(ByteSize.text(UInt64.max) == "16E", "the largest size still has a unit: \(ByteSize.text(UInt64.max))")
    }

    @Test func parsing() {
        #expect(ByteSize.parse("256M") == 256 << 20 && ByteSize.parse("1GiB") == 1 << 30 && ByteSize.parse("4096") == 4096 && ByteSize.parse("64kb") == 64 << 10)
        for bad in ["", "-5", "0", "lots", "1.5G", "99999999999T"] { #expect(ByteSize.parse(bad) == nil, "\(bad)") }
    }
}
