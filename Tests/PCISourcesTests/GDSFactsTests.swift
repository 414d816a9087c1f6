import Foundation
import Testing
import TestSupport
import PCITopology
@testable import PCISources

/// `doctor --gds`'s facts read from captured roots made for the tests: the files NVIDIA's and
/// the kernel's documentation name, as they look on a machine.
@Suite struct GDSFactsTests {
    func root(_ files: [String: String], dirs: [String] = []) throws -> String { try CapturedRoot.make(files, dirs: dirs, prefix: "p2ptop-gds") }

    @Test func anOpenDriverSetUpForP2PDMA() throws {
        let r = try root([
            "sys/module/nvidia/version": "570.86.15\n",
            "proc/driver/nvidia/version": "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Jan 23 2025\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n",
            "proc/driver/nvidia/params": "ResmanDebugLevel: 4294967295\nRmLogonRC: 1\nModifyDeviceFiles: 1\nRegistryDwords: \"RMForceStaticBar1=1;RmForceDisableIomapWC=1;\"\nRegistryDwordsPerDevice: \"\"\n",
            "sys/module/nvme_core/parameters/multipath": "N\n",
            "sys/class/nvme/nvme0/transport": "pcie\n",
            "sys/block/md0/slaves/nvme1n1p1": "",
        ])
        defer { try? FileManager.default.removeItem(atPath: r) }
        let f = HostProbe.gdsFacts(root: r)
        #expect(f.nvidia?.version == "570.86.15" && f.nvidia?.branch == 570 && f.nvidia?.openKernelModule == true)
        #expect(f.nvidia?.registryDwords == ["rmforcestaticbar1": "1", "rmforcedisableiomapwc": "1"])
        #expect(f.multipath == .off)
        #expect(f.mdMembers == ["nvme1n1p1": "md0"])
        #expect(f.fabricControllers.isEmpty)
    }

    @Test func theProprietaryDriverMultipathAndFabrics() throws {
        let r = try root([
            "sys/module/nvidia/version": "535.183.01\n",
            "proc/driver/nvidia/version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\n",
            "proc/driver/nvidia/params": "RegistryDwords: \"\"\n",
            "sys/module/nvme_core/parameters/multipath": "Y\n",
            "sys/class/nvme/nvme0/transport": "pcie\n",
            "sys/class/nvme/nvme1/transport": "tcp\n",
            "sys/class/nvme/nvme2/transport": "rdma\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: r) }
        let f = HostProbe.gdsFacts(root: r)
        #expect(f.nvidia?.openKernelModule == false && f.nvidia?.branch == 535 && f.nvidia?.registryDwords == [:])
        #expect(f.multipath == .on)
        #expect(f.fabricControllers == ["nvme1": "tcp", "nvme2": "rdma"])
    }

    @Test func absentModulesAndUnreadableFiles() throws {
        let none = try root([:], dirs: ["sys/block"])
        defer { try? FileManager.default.removeItem(atPath: none) }
        let f = HostProbe.gdsFacts(root: none)
        #expect(f.nvidia == nil && f.multipath == .unknown && f.mdMembers.isEmpty)
        // nvme_core with parameters but no multipath one: built without CONFIG_NVME_MULTIPATH.
        let notBuilt = try root(["sys/module/nvme_core/parameters/io_timeout": "30\n"], dirs: ["sys/module/nvidia"])
        defer { try? FileManager.default.removeItem(atPath: notBuilt) }
        let g = HostProbe.gdsFacts(root: notBuilt)
        #expect(g.multipath == .notBuilt)
        #expect(g.nvidia == GDSFacts.NVIDIADriver(), "a loaded module whose files are unreadable: every field unknown")
    }

    @Test func registryDwordsParsing() {
        #expect(GDSFacts.registryDwords("\"RMForceStaticBar1=1; RmForceDisableIomapWC = 0;;junk;=3\"") == ["rmforcestaticbar1": "1", "rmforcedisableiomapwc": "0"])
        #expect(GDSFacts.registryDwords("").isEmpty)
        let many = (0..<500).map { "K\($0)=1" }.joined(separator: ";")
        #expect(GDSFacts.registryDwords(many).count == 64, "bounded")
    }
}
