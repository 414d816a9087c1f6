import KernelErrno
import P2PEngine
import PCITopology
@preconcurrency import CVerbs
#if canImport(Glibc)
@preconcurrency import Glibc
import LinuxFiles
#endif

/// A real RDMA WRITE on one port, looped back to itself: an RC queue pair connected to its own
/// QP number, a source MR in host memory and a destination MR in the target memory. The
/// destination's registration is the interesting part: `ibv_reg_mr` → `ib_umem_get()` pins with
/// FOLL_LONGTERM, which the kernel refuses for p2pdma pages (`-EREMOTEIO`), so a p2pmem target
/// shows the refusal rather than a transfer.
public enum VerbsLoopback {
    public struct Request: Sendable {
        public var device: String?        // nil: the first device with an active port
        public var port: Int?             // nil: its first active port
        /// nil: the port's first RoCE v2 GID (IPv4-mapped first), else 0.
        public var gidIndex: Int?
        public var target: RealBuffer.Kind
        public var size: Int
        public var block: Int
        public init(device: String?, port: Int?, gidIndex: Int? = nil, target: RealBuffer.Kind, size: Int, block: Int) {
            self.device = device; self.port = port; self.gidIndex = gidIndex; self.target = target; self.size = size; self.block = block
        }
    }

    public typealias Result = TransferOutcome

    /// Picks the device and port: the named ones, or the first ACTIVE port of any device.
    public static func choose(_ inventory: RDMAInventory, device: String?, port: Int?) throws(EngineError) -> (String, Int) {
        guard !inventory.devices.isEmpty else {
            throw EngineError(.ENODEV, "no RDMA devices" + (inventory.unavailable.map { " (\($0))" } ?? ""))
        }
        let candidates = inventory.devices.filter { device == nil || $0.name == device }
        guard !candidates.isEmpty else {
            throw EngineError(.ENODEV, "no RDMA device \(device!); present: \(inventory.devices.map(\.name).joined(separator: ", "))")
        }
        for d in candidates {
            for p in d.ports where (port == nil || p.number == port) {
                if p.state == .active { return (d.name, p.number) }
            }
        }
        let which = candidates.map { d in "\(d.name): " + d.ports.map { "port \($0.number) \($0.state?.name ?? "?")" }.joined(separator: ", ") }
        throw EngineError(.ENETDOWN, "no ACTIVE port" + (port.map { " \($0)" } ?? "") + " (\(which.joined(separator: "; "))): a loopback write needs a port whose link is up")
    }

    /// `VmPin` of this process in kB (`/proc/self/status`).
    static func vmPinKB() -> Int {
        guard let s = FileIO.readString("/proc/self/status") else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmPin:") {
            return Int(line.dropFirst(6).filter(\.isNumber)) ?? 0
        }
        return 0
    }

    static func fail(_ what: String, _ e: Int32) -> EngineError {
        let code = Errno(code: e, otherwise: .EINVAL)
        var text = "\(what): \(String(cString: strerror(e)))"
        if e == EREMOTEIO { text += " — ib_umem_get() pins with FOLL_LONGTERM, and the kernel never long-term-pins p2pdma pages (no FOLL_PCI_P2PDMA for RDMA MRs); the dma-buf route (ibv_reg_dmabuf_mr) is the way" }
        if e == EFAULT && what.contains("p2pmem") {
            text += " — a writable MR pins FOLL_LONGTERM|FOLL_WRITE, and check_vma_flags refuses that for a shared file mapping needing dirty tracking, as p2pmem/allocate is (writable_file_mapping_allowed, 6.5+); a read-only MR gets EREMOTEIO instead; the dma-buf route (ibv_reg_dmabuf_mr) is the way"
        }
        if e == EOPNOTSUPP && what.hasPrefix("ibv_reg_dmabuf_mr") { text += " — this RDMA driver has no reg_user_mr_dmabuf (rxe and siw have none; mlx5, efa, irdma and bnxt_re do)" }
        if e == ENOMEM && what.hasPrefix("ibv_reg_mr") { text += " — RLIMIT_MEMLOCK is below the MR size (ulimit -l, or CAP_IPC_LOCK)" }
        return EngineError(code, text)
    }

    /// The GID index to address on a RoCE port: RoCE v2 with an IPv4-mapped address, else any
    /// RoCE v2, else entry 0 (also what InfiniBand ports use, where GIDs are not needed).
    public static func preferredGID(_ gids: [RDMAGID]) -> Int {
        let v2 = gids.filter { $0.type == "RoCE v2" }
        return (v2.first { $0.address.contains(".") } ?? v2.first)?.index ?? 0
    }

    public static func run(_ r: Request, inventory: RDMAInventory) -> Result {
        var result = Result()
        result.rateSource = .measured
        result.pinsExact = false
        do {
            let (name, port) = try choose(inventory, device: r.device, port: r.port)
            result.rdmaDevice = name; result.rdmaPort = port
            var request = r
            if request.gidIndex == nil {
                let gids = inventory.devices.first { $0.name == name }?.ports.first { $0.number == port }?.gids ?? []
                request.gidIndex = preferredGID(gids)
            }
            result.gidIndex = request.gidIndex ?? 0
            try loopback(request, device: name, port: port, &result)
        } catch { result.error = error }
        return result
    }

    // The verbs objects are released in reverse order by the defers.
    static func loopback(_ r: Request, device name: String, port: Int, _ result: inout Result) throws(EngineError) {
        guard r.size > 0, r.block > 0 else { throw EngineError(.EINVAL, "size and block must be positive") }
        var count: Int32 = 0
        guard let list = ibv_get_device_list(&count) else { throw fail("ibv_get_device_list", errno) }
        defer { ibv_free_device_list(list) }
        guard let dev = (0..<Int(count)).compactMap({ list[$0] }).first(where: { String(cString: ibv_get_device_name($0)) == name }) else {
            throw EngineError(.ENODEV, "\(name) vanished")
        }
        guard let ctx = ibv_open_device(dev) else { throw fail("ibv_open_device(\(name))", errno) }
        defer { ibv_close_device(ctx) }
        var pa = ibv_port_attr()
        guard ___ibv_query_port(ctx, UInt8(port), &pa) == 0 else { throw fail("ibv_query_port", errno) }
        guard let pd = ibv_alloc_pd(ctx) else { throw fail("ibv_alloc_pd", errno) }
        defer { ibv_dealloc_pd(pd) }
        guard let cq = ibv_create_cq(ctx, 64, nil, nil, 0) else { throw fail("ibv_create_cq", errno) }
        defer { ibv_destroy_cq(cq) }
        var initAttr = ibv_qp_init_attr()
        initAttr.send_cq = cq; initAttr.recv_cq = cq
        initAttr.qp_type = IBV_QPT_RC
        initAttr.cap.max_send_wr = 32; initAttr.cap.max_recv_wr = 1
        initAttr.cap.max_send_sge = 1; initAttr.cap.max_recv_sge = 1
        guard let qp = ibv_create_qp(pd, &initAttr) else { throw fail("ibv_create_qp", errno) }
        defer { ibv_destroy_qp(qp) }
        try connectToSelf(qp, ctx: ctx, port: port, attr: pa, gidIndex: r.gidIndex ?? 0)

        // Buffers: the source in host memory with a pattern; the destination in the target.
        let source = try RealBuffer(.host, size: r.size)
        let target = try RealBuffer(r.target, size: r.size)
        defer { withExtendedLifetime((source, target)) {} }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in stride(from: 0, to: r.size - 7, by: 8) {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            source.base.storeBytes(of: seed, toByteOffset: i, as: UInt64.self)
        }
        let pinsBefore = ODirect.vmstatPins()
        defer {
            if let b = pinsBefore, let a = ODirect.vmstatPins() { result.pinsAcquired = a.0 - b.0; result.pinsReleased = a.1 - b.1 }
        }
        let local = Int32(IBV_ACCESS_LOCAL_WRITE.rawValue)
        guard let srcMR = ibv_reg_mr(pd, source.base, r.size, local) else { throw fail("ibv_reg_mr(source, host memory)", errno) }
        defer { ibv_dereg_mr(srcMR) }
        let pinBefore = vmPinKB()
        let access = local | Int32(IBV_ACCESS_REMOTE_WRITE.rawValue)
        // A dma-buf is imported (ib_umem_dmabuf: the exporter maps it, nothing is pinned through
        // GUP); anything else is pinned by ib_umem_get (FOLL_LONGTERM).
        let registered: UnsafeMutablePointer<ibv_mr>? = target.dmabufFD.map {
            ibv_reg_dmabuf_mr(pd, 0, r.size, UInt64(UInt(bitPattern: target.base)), $0, access)
        } ?? ibv_reg_mr(pd, target.base, r.size, access)
        guard let dstMR = registered else {
            throw fail("\(target.dmabufFD == nil ? "ibv_reg_mr" : "ibv_reg_dmabuf_mr")(destination, \(r.target.description))", errno)
        }
        defer { ibv_dereg_mr(dstMR) }
        result.registeredPinnedKB = vmPinKB() - pinBefore

        // RDMA WRITE in blocks no larger than the port's max message, up to 16 in flight.
        let block = min(r.block, Int(pa.max_msg_sz == 0 ? UInt32(r.block) : pa.max_msg_sz))
        let blocks = (r.size + block - 1) / block
        var posted = 0, completed = 0
        let start = Monotonic.seconds()
        var wc = [ibv_wc](repeating: ibv_wc(), count: 16)
        while completed < blocks {
            while posted < blocks && posted - completed < 16 {
                let off = posted * block
                var sge = ibv_sge(addr: UInt64(UInt(bitPattern: source.base)) + UInt64(off), length: UInt32(min(block, r.size - off)), lkey: srcMR.pointee.lkey)
                var wr = ibv_send_wr()
                wr.wr_id = UInt64(posted)
                wr.opcode = IBV_WR_RDMA_WRITE
                wr.send_flags = UInt32(IBV_SEND_SIGNALED.rawValue)
                wr.num_sge = 1
                wr.wr.rdma.remote_addr = UInt64(UInt(bitPattern: target.base)) + UInt64(off)
                wr.wr.rdma.rkey = dstMR.pointee.rkey
                var bad: UnsafeMutablePointer<ibv_send_wr>?
                let rc = withUnsafeMutablePointer(to: &sge) { s in
                    wr.sg_list = s
                    return ibv_post_send(qp, &wr, &bad)
                }
                guard rc == 0 else { throw fail("ibv_post_send", rc) }
                posted += 1
            }
            let n = ibv_poll_cq(cq, Int32(wc.count), &wc)
            guard n >= 0 else { throw EngineError(.EIO, "ibv_poll_cq failed") }
            for w in wc.prefix(Int(n)) where w.status != IBV_WC_SUCCESS {
                throw EngineError(.EIO, "RDMA WRITE completion: \(String(cString: ibv_wc_status_str(w.status)))")
            }
            completed += Int(n)
            if n == 0 && Monotonic.seconds() - start > 30 { throw EngineError(.ETIMEDOUT, "no completion within 30 s (\(completed)/\(blocks) blocks)") }
        }
        result.seconds = Monotonic.seconds() - start
        result.bytes = r.size
        result.verified = memcmp(source.base, target.base, r.size) == 0
        if !result.verified { throw EngineError(.EFAULT, "the destination differs from the source after the RDMA WRITE") }
    }

    /// RESET → INIT → RTR → RTS with the QP as its own peer (same LID; on RoCE the port's GID).
    static func connectToSelf(_ qp: UnsafeMutablePointer<ibv_qp>, ctx: UnsafeMutablePointer<ibv_context>, port: Int,
                              attr pa: ibv_port_attr, gidIndex: Int) throws(EngineError) {
        var a = ibv_qp_attr()
        a.qp_state = IBV_QPS_INIT
        a.pkey_index = 0
        a.port_num = UInt8(port)
        a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE.rawValue | IBV_ACCESS_REMOTE_WRITE.rawValue
        var rc = ibv_modify_qp(qp, &a, Int32(IBV_QP_STATE.rawValue | IBV_QP_PKEY_INDEX.rawValue | IBV_QP_PORT.rawValue | IBV_QP_ACCESS_FLAGS.rawValue))
        guard rc == 0 else { throw fail("ibv_modify_qp(INIT)", rc) }

        a = ibv_qp_attr()
        a.qp_state = IBV_QPS_RTR
        a.path_mtu = pa.active_mtu
        a.dest_qp_num = qp.pointee.qp_num
        a.rq_psn = 0
        a.max_dest_rd_atomic = 1
        a.min_rnr_timer = 12
        a.ah_attr.dlid = pa.lid
        a.ah_attr.port_num = UInt8(port)
        if pa.link_layer == UInt8(IBV_LINK_LAYER_ETHERNET) {
            var gid = ibv_gid()
            guard ibv_query_gid(ctx, UInt8(port), Int32(gidIndex), &gid) == 0 else { throw fail("ibv_query_gid(\(gidIndex))", errno) }
            a.ah_attr.is_global = 1
            a.ah_attr.grh.dgid = gid
            a.ah_attr.grh.sgid_index = UInt8(gidIndex)
            a.ah_attr.grh.hop_limit = 1
        }
        rc = ibv_modify_qp(qp, &a, Int32(IBV_QP_STATE.rawValue | IBV_QP_AV.rawValue | IBV_QP_PATH_MTU.rawValue | IBV_QP_DEST_QPN.rawValue
                                         | IBV_QP_RQ_PSN.rawValue | IBV_QP_MAX_DEST_RD_ATOMIC.rawValue | IBV_QP_MIN_RNR_TIMER.rawValue))
        guard rc == 0 else { throw fail("ibv_modify_qp(RTR)", rc) }

        a = ibv_qp_attr()
        a.qp_state = IBV_QPS_RTS
        a.timeout = 14
        a.retry_cnt = 7
        a.rnr_retry = 7
        a.sq_psn = 0
        a.max_rd_atomic = 1
        rc = ibv_modify_qp(qp, &a, Int32(IBV_QP_STATE.rawValue | IBV_QP_TIMEOUT.rawValue | IBV_QP_RETRY_CNT.rawValue
                                         | IBV_QP_RNR_RETRY.rawValue | IBV_QP_SQ_PSN.rawValue | IBV_QP_MAX_QP_RD_ATOMIC.rawValue))
        guard rc == 0 else { throw fail("ibv_modify_qp(RTS)", rc) }
    }
}
