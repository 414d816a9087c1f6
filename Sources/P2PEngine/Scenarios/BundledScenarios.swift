/// The scenarios shipped with p2ptop (`p2ptop scenario list`).
public enum BundledScenarios {
    public static let all: [(name: String, text: String)] = [("seed-story", seedStory), ("acs-flip", acsFlip), ("cross-socket", crossSocket)]

    public static func text(_ name: String) -> String? { all.first { $0.name == name }?.text }

    static let seedStory = """
    @title Pinning PCI BAR memory: what get_user_pages() lets through
    @description An NVMe's memory buffer (CMB) and a GPU's BAR as DMA targets for their peers: a raw BAR mapping cannot be pinned, p2pmem can, O_DIRECT moves data straight into it while the pins rise and fall, an RDMA registration is refused, the dma-buf route needs no pins, and an unbind waits for the last pin
    @fabric icelake-gpu-switch
    @kernel 6.19
    caption "Map the NVMe's memory buffer straight from its BAR (sysfs resource2): the kernel hands out a VM_IO|VM_PFNMAP mapping, with no struct pages behind it"
    map bar kind=resource device=nvme1 bar=2
    caption "So get_user_pages() finds nothing to pin: EFAULT. A raw BAR mapping cannot be the target of O_DIRECT or RDMA"
    pin p0 map=bar pages=16 flags=PIN|PCI_P2PDMA|WRITE expect=EFAULT
    unmap bar
    caption "The p2pdma route: the nvme driver publishes its buffer as p2pmem, and p2pmem/allocate maps ZONE_DEVICE pages that do have struct pages"
    map cmb kind=p2pmem device=nvme1 size=64M
    caption "A pin without FOLL_PCI_P2PDMA is refused (EREMOTEIO): the caller must say it can handle PCI memory. With the flag each page gains 1024 references"
    pin p1 map=cmb pages=256 flags=PIN|WRITE expect=EREMOTEIO
    pin p2 map=cmb pages=256 flags=PIN|PCI_P2PDMA|WRITE
    caption "dma_map_sg for the other NVMe: both sit under one switch, so it gets PCI bus addresses (BUS_ADDR) and the data never crosses the CPU or its memory"
    dmamap pin=p2 client=nvme0
    unpin p2
    unmap cmb
    caption "A whole O_DIRECT read from nvme0 into the buffer: every I/O pins its pages and releases them, acquired and released climb together"
    transfer from=nvme0 to=nvme1 size=256M via=odirect
    caption "RDMA: ibv_reg_mr pins for the long term and for writing, and the kernel refuses that on p2pmem (EFAULT): the mapping is a file that needs dirty tracking"
    transfer from=nic0 to=nvme1 size=16M via=rdma expect=EFAULT
    caption "The dma-buf route: VFIO exports the GPU's BAR, the NIC imports it as a memory region: no struct pages and nothing pinned"
    export gpubuf device=gpu0 bar=1 size=64M
    attach mr buf=gpubuf importer=nic0
    transfer from=nic0 to=gpu0 size=256M via=dmabuf
    caption "Because nothing is pinned, the exporter can take its memory back: a revoke tells every importer, and a new attach fails (ENODEV)"
    revoke gpubuf
    attach again buf=gpubuf importer=nic0 expect=ENODEV
    release gpubuf
    caption "Pins keep BAR memory alive: unbinding the NVMe's driver zaps the mappings, then waits until the last pinned page comes back"
    map cmb2 kind=p2pmem device=nvme1 size=1M
    pin held map=cmb2 pages=4 flags=PIN|PCI_P2PDMA
    unbind device=nvme1 expect=waiting
    unpin held
    finish-unbind device=nvme1 expect=done
    """

    static let acsFlip = """
    @title ACS redirect: the same two NVMe before and after
    @description One switch, two NVMe: peer-to-peer by bus address until ACS redirect is turned on at the port above the memory; then every request goes up to the root complex, the kernel's cached verdict lags until the provider is released, and turning redirect off (the remedy: pci=config_acs, or setpci on a machine you own) brings BUS_ADDR back
    @fabric icelake-gpu-switch
    @kernel 6.19
    caption "Before: nvme0 reaches nvme1's memory buffer through the switch, by PCI bus address"
    verdict provider=nvme1 client=nvme0 expect=BUS_ADDR
    map cmb kind=p2pmem device=nvme1 size=1M
    pin p map=cmb pages=16 flags=PIN|PCI_P2PDMA
    dmamap pin=p client=nvme0
    caption "setpci turns on Request and Completion Redirect at the switch port above nvme1: peer requests must now go up to the root complex"
    acs device=0000:18:03.0 set=RR,CR
    verdict provider=nvme1 client=nvme0 expect=THRU_HOST_BRIDGE
    caption "But dma_map_sg still hands out bus addresses: the kernel caches each pair's verdict until the provider goes away"
    dmamap pin=p client=nvme0
    unpin p
    unmap cmb
    caption "The remedy: redirect off at that port (pci=config_acs on the kernel command line, or setpci): the pair is BUS_ADDR again"
    acs device=0000:18:03.0 set=none
    verdict provider=nvme1 client=nvme0 expect=BUS_ADDR
    """

    static let crossSocket = """
    @title Across host bridges: the allowlist decides
    @description An NVMe behind Intel VMD cannot reach the CMB: the host bridge is not allowlisted, the block layer's DMA iterator ends the read with EINVAL (EREMOTEIO before 6.17) and nothing stays pinned
    @fabric icelake-gpu-switch
    @kernel 6.19
    verdict provider=nvme1 client=nvme2 expect=NOT_SUPPORTED
    caption "On 6.17 and later the NVMe maps its data with the block layer's DMA iterator: the refused P2P segment ends the read with EINVAL (6.12 said EREMOTEIO)"
    transfer from=nvme2 to=nvme1 size=16M via=odirect expect=EINVAL
    caption "Across sockets through allowlisted Ice Lake host bridges it works, via the root complex"
    verdict provider=nvme1 client=nic1 expect=THRU_HOST_BRIDGE
    transfer from=nic1 to=host size=16M via=rdma
    """
}
