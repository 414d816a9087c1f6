/// What a step's outcome means, said for an audience: the errno in words and the kernel rule
/// behind it. The engine's own detail line follows it on the stage.
enum Explain {
    static func outcome(_ action: String, _ outcome: String) -> String {
        switch outcome {
        case "ok": return ok(action)
        case "EFAULT": return "EFAULT — \"bad address\": get_user_pages found nothing it may pin there (no struct page, or a pin the VMA's flags forbid)."
        case "EREMOTEIO": return "EREMOTEIO — the page is PCI BAR memory and the caller did not say it can take it (no FOLL_PCI_P2PDMA), or no path joins the two devices."
        case "ENODEV": return "ENODEV — the memory is gone: the export was revoked or the device unbound."
        case "EINVAL": return action == "transfer"
            ? "EINVAL — from 6.17 the NVMe maps its data with the block layer's DMA iterator, which ends a request with a P2P segment it may not map (BLK_STS_INVAL); 6.12 said EREMOTEIO."
            : "EINVAL — the kernel refuses the request as asked."
        case "EOPNOTSUPP": return "EOPNOTSUPP — this driver cannot do it at all."
        case "ENOMEM": return "ENOMEM — the p2pmem pool has no room left."
        case "waiting": return "The unbind is waiting: memunmap_pages cannot finish while any page is still pinned."
        case "done": return "Done: every page came back, the BAR memory is released."
        case "BUS_ADDR": return "BUS_ADDR — the devices talk through a switch: the DMA never reaches the root complex."
        case "THRU_HOST_BRIDGE": return "THRU_HOST_BRIDGE — the traffic turns around in the root complex (an allowlisted host bridge)."
        case "NOT_SUPPORTED": return "NOT_SUPPORTED — the kernel will not map this pair: dma_map_sg fails, nothing moves."
        default: return outcome
        }
    }

    static func ok(_ action: String) -> String {
        switch action {
        case "map": return "Mapped into the process."
        case "pin": return "Pinned: each page's refcount went up by GUP_PIN_COUNTING_BIAS (1024); /proc/vmstat counts it."
        case "unpin": return "Unpinned: the refcounts drop back, nr_foll_pin_released catches up."
        case "dmamap": return "DMA-mapped: the scatter/gather list now holds the addresses the client will use."
        case "transfer": return "The data moved, and every byte was checked at the other end."
        case "export": return "Exported as a dma-buf: no struct pages, nothing pinned."
        case "attach": return "Attached: the importer got addresses for the exported BAR."
        case "revoke": return "Revoked: every importer is told to stop using the memory."
        case "release": return "Released."
        case "unmap": return "Unmapped."
        case "acs": return "ACS control rewritten on the port (setpci)."
        default: return "Done."
        }
    }
}
