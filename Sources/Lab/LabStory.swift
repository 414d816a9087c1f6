import LinuxFiles
import PCISources
import PCITopology

/// The P2P story on the real kernel (`p2ptop demo lab-story`): the lab's experiments that tell
/// it, in the order a talk tells it, each with a caption for the audience. The guest runs only
/// these (`lab observe --story`); the host predicts each from the guest's snapshot (the same
/// `Conformance` as `lab check`) and shows the model's answer beside the kernel's.
public enum LabStory {
    public static let title = "The same story on a real kernel"
    public static let description = "Linux 6.12 with CONFIG_PCI_P2PDMA under QEMU, on an emulated PCIe fabric: each step done for real in the guest, the kernel's answer (errno, dmesg, /proc/vmstat) beside what p2ptop predicted from the guest's snapshot alone"

    /// (caption, the lab step's name on the lab-switch fabric).
    public static let script: [(caption: String, step: String)] = [
        ("A driverless BAR (ivshmem) mapped through resourceN: the CPU reads it, and that is all it can do", "bar 00:05.0 BAR2 MMIO read"),
        ("The NVMe publishes its memory buffer as p2pmem: a mapping takes pages from the pool, munmap gives them back", "p2pmem nvme1 available − 2M + 2M"),
        ("O_DIRECT from nvme0 into nvme1's buffer: both below one switch, the kernel maps it by bus address and the data lands", "nvme0 → p2pmem nvme1"),
        ("Each I/O pins its pages with FOLL_PIN: /proc/vmstat counts what the model counts", "nvme0 → p2pmem nvme1, threads qd4 1024K"),
        ("A registered io_uring buffer would pin for the long term: the kernel refuses it on p2pmem", "nvme0 → p2pmem nvme1, io_uring-fixed qd4 1024K"),
        ("nvme2 is on its own root port: the host bridge is not allowlisted, the kernel refuses the pair", "nvme2 → p2pmem nvme1"),
        ("…and says why in dmesg, in the words p2ptop predicts", "nvme2 → p2pmem nvme1"),
        ("RDMA: a writable memory region on p2pmem is refused (EFAULT)", "ibv_reg_mr p2pmem nvme1 (writable)"),
        ("…and a read-only one too, for another reason (EREMOTEIO)", "ibv_reg_mr p2pmem nvme1 (read-only)"),
        ("Unbinding a provider while an O_DIRECT read pins its pages: the kernel waits for them", "unbind nvme3 under nvme4's O_DIRECT"),
        ("Unbinding with the buffer still mapped: the mapping is zapped, the next touch is SIGBUS", "unbind nvme1 with p2pmem mapped"),
    ]

    /// The story's steps out of a plan, in the story's order; the second of two captions on one
    /// name takes the plan's second step of that name (verdict, then reason).
    public static func steps(from plan: [LabStep]) -> [LabStep] {
        var used = Set<Int>()
        var out: [LabStep] = []
        for item in script {
            guard let i = plan.indices.first(where: { !used.contains($0) && plan[$0].name == item.step }) else { continue }
            used.insert(i)
            out.append(plan[i])
        }
        return out
    }

    /// One told step: the caption, the step, the model's answer and the kernel's.
    public struct Told: Sendable {
        public var caption: String
        public var experiment: LabExperiment
        public var observation: LabObservation
    }

    /// Boots the lab, runs the story in the guest, predicts each step from its snapshot.
    public static func tell(kernel: LabKernel, binary: String, variant: LabVariant, progress: (String) -> Void) throws(LabError) -> (kernel: String, told: [Told]) {
        let machine = LabMachine(variant: variant, kernel: kernel)
        let init_ = GuestInit(command: [binary, "lab", "observe", "--story", "--out", GuestInit.resultsMount] + variant.fabric.slowDrives.flatMap { ["--slow", $0] },
                              console: .batch, environment: [("NO_COLOR", "1")])
        progress("booting \(variant.title) (Linux \(kernel.version))")
        let outcome = try machine.boot(init_, timeout: 420)
        defer { LabMachine.discard(outcome) }
        let dir = outcome.results
        if let f = outcome.failure { throw LabError(f) }
        guard outcome.status == 0 else { throw LabError("p2ptop lab observe --story exited \(outcome.status ?? -1) in the guest") }
        let snapshot: Topology
        do { snapshot = try Snapshot.load(path: dir + "/snapshot.json") } catch { throw LabError("the guest's snapshot: \(error)") }
        guard case .success(let bytes) = FileIO.read(dir + "/observed.json", limit: 64 << 20) else { throw LabError("the guest wrote no observed.json") }
        let report = try LabReport.decode(bytes, file: dir + "/observed.json")
        let conformance = Conformance(snapshot: snapshot, iommu: variant.iommu)
        var told: [Told] = []
        var captions = script[...]
        for o in report.observations {
            // The caption that names this step, in script order.
            guard let k = captions.firstIndex(where: { $0.step == o.step.name }) else { continue }
            told.append(Told(caption: captions[k].caption, experiment: conformance.compare(o), observation: o))
            captions = captions[(k + 1)...]
        }
        progress("the guest powered off after \(Int(outcome.seconds)) s; \(told.filter { $0.experiment.agree }.count)/\(told.count) steps as predicted")
        return (report.kernel, told)
    }
}
