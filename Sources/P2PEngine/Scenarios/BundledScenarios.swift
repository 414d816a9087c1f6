/// The scenarios shipped with p2ptop (`p2ptop scenario list`).
public enum BundledScenarios {
    public static let all: [(name: String, text: String)] = [("seed-story", seedStory), ("acs-flip", acsFlip), ("cross-socket", crossSocket)]

    public static func text(_ name: String) -> String? { all.first { $0.name == name }?.text }

    static let seedStory = """
    @description get_user_pages() for BAR memory, step by step: PFNMAP fails, p2pmem works for O_DIRECT, an RDMA MR is refused, dma-buf works, unbind waits for pins
    @fabric icelake-gpu-switch
    @kernel 6.19
    caption "A BAR mapped through resourceN is VM_IO|VM_PFNMAP: there are no struct pages to pin"
    map bar kind=resource device=nvme1 bar=2
    pin p0 map=bar pages=16 flags=PIN|PCI_P2PDMA|WRITE expect=EFAULT
    unmap bar
    caption "p2pmem/allocate gives ZONE_DEVICE pages: O_DIRECT pins them with FOLL_PCI_P2PDMA"
    map cmb kind=p2pmem device=nvme1 size=64M
    pin p1 map=cmb pages=256 flags=PIN|WRITE expect=EREMOTEIO
    pin p2 map=cmb pages=256 flags=PIN|PCI_P2PDMA|WRITE
    dmamap pin=p2 client=nvme0
    unpin p2
    unmap cmb
    transfer from=nvme0 to=nvme1 size=256M via=odirect
    caption "RDMA ibv_reg_mr of a writable MR pins FOLL_LONGTERM|FOLL_WRITE: check_vma_flags refuses the p2pmem mapping (EFAULT)"
    transfer from=nic0 to=nvme1 size=16M via=rdma expect=EFAULT
    caption "The dma-buf route: the GPU BAR exported by VFIO, imported as an RDMA MR — no struct pages, no pins"
    export gpubuf device=gpu0 bar=1 size=64M
    attach mr buf=gpubuf importer=nic0
    transfer from=nic0 to=gpu0 size=256M via=dmabuf
    caption "Revoking the export invalidates the importer"
    revoke gpubuf
    attach again buf=gpubuf importer=nic0 expect=ENODEV
    release gpubuf
    caption "Unbinding the provider zaps the mappings, then waits while a page is pinned"
    map cmb2 kind=p2pmem device=nvme1 size=1M
    pin held map=cmb2 pages=4 flags=PIN|PCI_P2PDMA
    unbind device=nvme1 expect=waiting
    unpin held
    finish-unbind device=nvme1 expect=done
    """

    static let acsFlip = """
    @description Turning ACS redirect on at a switch port sends peers through the root complex; the kernel's cached verdict does not notice until the provider is released
    @fabric icelake-gpu-switch
    @kernel 6.19
    verdict provider=nvme1 client=nvme0 expect=BUS_ADDR
    map cmb kind=p2pmem device=nvme1 size=1M
    pin p map=cmb pages=16 flags=PIN|PCI_P2PDMA
    dmamap pin=p client=nvme0
    caption "setpci: RR and CR on the switch port above nvme1"
    acs device=0000:18:03.0 set=RR,CR
    verdict provider=nvme1 client=nvme0 expect=THRU_HOST_BRIDGE
    caption "...but dma_map_sg still uses the cached BUS_ADDR: the cache lives until the provider goes"
    dmamap pin=p client=nvme0
    unpin p
    unmap cmb
    acs device=0000:18:03.0 set=none
    verdict provider=nvme1 client=nvme0 expect=BUS_ADDR
    """

    static let crossSocket = """
    @description An NVMe behind Intel VMD cannot reach the CMB: the host bridge is not allowlisted, dma_map_sg fails with -EREMOTEIO and nothing stays pinned
    @fabric icelake-gpu-switch
    @kernel 6.19
    verdict provider=nvme1 client=nvme2 expect=NOT_SUPPORTED
    transfer from=nvme2 to=nvme1 size=16M via=odirect expect=EREMOTEIO
    caption "Across sockets through allowlisted Ice Lake host bridges it works, via the root complex"
    verdict provider=nvme1 client=nic1 expect=THRU_HOST_BRIDGE
    transfer from=nic1 to=host size=16M via=rdma
    """
}
