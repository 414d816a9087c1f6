import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import PCISources
import PCITopology
import P2PDMA

/// NCCL topology files: every fixture loads (the graph file is refused with its line), the
/// functions and their nesting are the file's, and the path class of every GPU↔GPU and
/// GPU↔NIC pair is the one NCCL's rules give for that nesting — PIX under one switch, PXB
/// across switches, PHB through one CPU, SYS across CPUs — computed here from the XML alone.
@Suite struct NCCLTests {
    static var files: [String] {
        guard let root = Fixtures.root else { return [] }
        let dir = root.appendingPathComponent("nccl").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
    }

    /// What the file says, read with Foundation's XML parser: each `<pci busid>` with its
    /// CPU, its chain of enclosing `<pci>` elements (nearest first), and whether it is a GPU or NIC.
    final class Reference: NSObject, XMLParserDelegate {
        struct Function { var busid: String; var cpu: Int; var ancestors: [String]; var isBridge: Bool; var cls: String? }
        var functions: [Function] = []
        var cpu = -1
        var stack: [String] = []
        var root: String?
        var nicsAtCPU = 0

        func parser(_ p: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String]) {
            if root == nil { root = name }
            switch name {
            case "cpu": cpu += 1; stack = []
            case "pci":
                let busid = a["busid"] ?? "?"
                functions.append(Function(busid: busid, cpu: cpu, ancestors: stack.reversed(), isBridge: (a["class"] ?? "").hasPrefix("0x0604"), cls: a["class"]))
                stack.append(busid)
            case "nic": if stack.isEmpty { nicsAtCPU += 1 }
            default: break
            }
        }

        func parser(_ p: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "pci" { stack.removeLast() }
        }

        static func read(_ path: String) throws -> Reference {
            let r = Reference()
            let parser = try #require(XMLParser(contentsOf: URL(fileURLWithPath: path)))
            parser.delegate = r
            #expect(parser.parse(), "\(path) is well-formed XML")
            return r
        }

        /// NCCL's path type between two functions of the file.
        func pathClass(_ a: Function, _ b: Function) -> String {
            if a.cpu != b.cpu { return "SYS" }
            let common = a.ancestors.first { b.ancestors.contains($0) }
            guard let common else { return "PHB" }
            let hops = (a.ancestors.firstIndex(of: common)! + 1) + (b.ancestors.firstIndex(of: common)! + 1) - 1
            return hops <= 1 ? "PIX" : "PXB"
        }
    }

    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage))
    func everyTopologyFileLoadsAsTheFileNestsIt() throws {
        #expect(Self.files.count >= 6)
        for name in Self.files {
            let path = Fixtures.path("nccl/\(name)")
            let ref = try Reference.read(path)
            if ref.root == "graphs" {
                #expect(throws: SourceError.self) { try NCCLSource.load(path: path) }
                do { _ = try NCCLSource.load(path: path) } catch {
                    #expect(error.line == 1 && error.message.contains("graph file") && error.message.contains("NCCL_TOPO_FILE"))
                }
                continue
            }
            let t = try NCCLSource.load(path: path)
            #expect(t.source.kind == .nccl)
            let real = t.devices.filter { $0.bdf.domain < NCCLSource.cpuDomainBase }
            #expect(Set(real.map(\.bdf.description)) == Set(ref.functions.map(\.busid)), "\(name): the same functions")
            for f in ref.functions {
                let bdf = try #require(BDF(f.busid))
                // The parent is the enclosing <pci>, or the CPU's root complex.
                if let parent = f.ancestors.first {
                    #expect(t.parent(bdf)?.description == parent, "\(name) \(f.busid): parent")
                } else {
                    let p = try #require(t.parent(bdf), "\(name) \(f.busid): under its CPU")
                    #expect(p.domain == NCCLSource.cpuDomainBase + UInt32(f.cpu), "\(name) \(f.busid): CPU \(f.cpu)")
                }
                #expect(t.device(bdf)?.isBridge == f.isBridge, "\(name) \(f.busid): a switch is a bridge")
                #expect(t.device(bdf)?.sysfs?.numaNode != nil)
            }
            // NICs NCCL names only at the CPU level are functions too.
            #expect(t.devices.filter { $0.bdf.bus == 0xff && $0.bdf.domain >= NCCLSource.cpuDomainBase }.count == ref.nicsAtCPU, "\(name)")
        }
    }

    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage))
    func pathClassesAreNCCLs() throws {
        var pairs = 0
        for name in Self.files {
            let path = Fixtures.path("nccl/\(name)")
            let ref = try Reference.read(path)
            guard ref.root == "system" else { continue }
            let t = try NCCLSource.load(path: path)
            let a = P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
            let endpoints = ref.functions.filter { f in f.cls.map { $0.hasPrefix("0x03") || $0.hasPrefix("0x02") } ?? false }
            for x in endpoints {
                for y in endpoints where x.busid != y.busid {
                    let v = a.verdict(provider: BDF(x.busid)!, client: BDF(y.busid)!)
                    #expect(v.pathClass.rawValue == ref.pathClass(x, y), "\(name) \(x.busid)↔\(y.busid): \(v.pathClass.rawValue), NCCL says \(ref.pathClass(x, y))")
                    pairs += 1
                }
            }
        }
        #expect(pairs > 100, "GPU and NIC pairs compared: \(pairs)")
    }

    /// NCCL's `link_speed` becomes the kernel's text; figures no link runs at are unknown, not a
    /// trap (CI's fuzzer found `1e300 GT/s` converting to Int).
    @Test func linkSpeedsAsTheKernelWritesThem() {
        #expect(NCCLSource.speed("16 GT/s") == "16.0 GT/s PCIe")
        #expect(NCCLSource.speed("2.5 GT/s") == "2.5 GT/s PCIe")
        #expect(NCCLSource.speed("32.0 GT/s PCIe") == "32.0 GT/s PCIe")
        for bad in ["1e300 GT/s", "inf GT/s", "nan GT/s", "-8 GT/s", "", "fast"] {
            #expect(NCCLSource.speed(bad) == nil, "\(bad)")
        }
        #expect(NCCLSource.speed(nil) == nil)
    }

    @Test func badFilesAreOneLineWithFileAndLine() throws {
        let cases: [(String, String)] = [
            ("<system version=\"1\">\n  <cpu numaid=\"0\">\n    <pci busid=\"zz:1\"/>\n  </cpu>\n</system>\n", ":3: <pci busid='zz:1'>: expected a bus ID"),
            ("<system version=\"1\">\n  <cpu>\n    <pci busid=\"0000:01:00.0\" class=\"0x0302000\"/>\n  </cpu>\n</system>\n", ":3: class='0x0302000': expected a hex number"),
            ("<system version=\"1\">\n</system>\n", ":1: <system> holds no <cpu>"),
            ("<topology version=\"2.0\"/>\n", ":1: expected NCCL's <system> root element, found <topology>"),
            ("<system version=\"1\">\n  <cpu>\n    <pci busid=\"0000:01:00.0\">\n", ":3: <pci> is never closed"),
        ]
        for (text, expected) in cases {
            do {
                _ = try NCCLSource.parse(Array(text.utf8), path: "f.xml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(expected) && !"\(error)".contains("\n"), "\(error)")
            }
        }
    }
}

/// The live machine's NVLinks from nvidia-smi's matrix and bus IDs (the driver is not on this
/// machine: the parser is checked on text in nvidia-smi's format).
@Suite struct NVLinkProbeTests {
    @Test func nvidiaSMIsMatrixGivesOneLinkPerGPUPair() {
        let topo = """
        \tGPU0\tGPU1\tGPU2\tGPU3\tNIC0\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID
        GPU0\t X \tNV12\tNV2\tSYS\tPXB\t0-15\t0\t\tN/A
        GPU1\tNV12\t X \tSYS\tNV4\tPXB\t0-15\t0\t\tN/A
        GPU2\tNV2\tSYS\t X \tPHB\tSYS\t16-31\t1\t\tN/A
        GPU3\tSYS\tNV4\tPHB\t X \tSYS\t16-31\t1\t\tN/A
        NIC0\tPXB\tPXB\tSYS\tSYS\t X

        Legend:
          NV# = Connection traversing a bonded set of # NVLinks
        """
        let ids = "0, 00000000:07:00.0\n1, 00000000:0F:00.0\n2, 00000001:47:00.0\n3, 00000001:4E:00.0\n"
        let links = NVLinkProbe.parse(topo: topo, busIDs: ids)
        let pairs = Set(links.map { "\($0.from) \($0.target) \($0.count)" })
        #expect(pairs == ["0000:07:00.0 0000:0f:00.0 12", "0000:07:00.0 0001:47:00.0 2", "0000:0f:00.0 0001:4e:00.0 4"], "\(pairs)")
        // No GPU columns (one GPU, or a failed run): nothing, never a guess.
        #expect(NVLinkProbe.parse(topo: "\tGPU0\tCPU Affinity\nGPU0\t X \t0-7\n", busIDs: "0, 00000000:07:00.0\n").isEmpty)
        #expect(NVLinkProbe.parse(topo: topo, busIDs: "").isEmpty)
    }
}
