import LinuxFiles
import PCISources
import PCITopology
import RealBackends

extension GuestRun {
    /// Inside the guest (`lab observe`): the machine's snapshot (with its host facts and RDMA
    /// state), `lspci -vv` beside it, then every experiment of the plan — or only the lab
    /// story's, in its order — for real; `observed.json` holds what the kernel did.
    public static func observe(into out: String, slow: [String], story: Bool, log: (String) -> Void) throws(LabError) {
        var t: Topology
        do { t = try TopologySource.live.load() } catch { throw LabError("the guest's own topology: \(error)") }
        t.host.facts = TopologySource.live.hostFacts(t)
        t.host.rdma = TopologySource.live.rdmaInventory(t)
        do { try Snapshot.write(t, to: out + "/snapshot.json") } catch { throw LabError("\(out)/snapshot.json: \(error)") }
        _ = try? Subprocess.run(["lspci", "-vv", "-D", "-n"], output: .file(out + "/lspci.txt"))
        var inventory = GuestRun.inventory(t)
        inventory.slow = slow
        let plan = LabPlan.steps(for: inventory)
        let observations = GuestRun.run(story ? LabStory.steps(from: plan) : plan, inventory: inventory, topology: t, say: log)
        let report = LabReport(kernel: t.host.kernelRelease ?? "", drives: inventory.drives, observations: observations)
        guard FileIO.writeAtomically(out + "/observed.json", Array(report.json.serialized(pretty: true).utf8)) == nil else {
            throw LabError("cannot write \(out)/observed.json")
        }
    }
}
