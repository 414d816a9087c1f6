#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import LinuxFiles

extension LabKernelBuild {
    /// A user's bzImage: its config (beside it, or embedded) must have what the lab needs.
    public static func check(image: String) throws(LabError) -> LabKernel {
        guard FileIO.exists(image) else { throw LabError("--kernel \(image): no such file") }
        // A kernel image is a regular file of a few MiB (a vmlinux with symbols a few hundred):
        // anything else is refused before a script reads it whole.
        var st = stat()
        guard stat(image, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw LabError("--kernel \(image): not a regular file") }
        guard st.st_size <= LabKernelBuild.maxImageBytes else {
            throw LabError("--kernel \(image): \(st.st_size >> 20) MiB is not a kernel image (at most \(LabKernelBuild.maxImageBytes >> 20) MiB)")
        }
        guard let (config, where_) = LabKernelBuild.config(forImage: image) else {
            throw LabError("--kernel \(image): no config beside it (config, config-*, .config) and none embedded (CONFIG_IKCONFIG): cannot check CONFIG_PCI_P2PDMA")
        }
        let missing = LabKernelConfig.missing(from: config, wanted: LabKernelConfig.essential)
        guard missing.isEmpty else {
            throw LabError("--kernel \(image): its config (\(where_)) lacks \(missing.map { $0 + "=y" }.joined(separator: ", ")) — p2ptop lab kernel builds one that has them")
        }
        let release = LabKernelBuild.release(ofImage: image) ?? "?"
        return LabKernel(image: image, config: where_, version: release, buildSeconds: nil)
    }
}
