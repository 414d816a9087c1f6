#ifndef P2PTOP_CPCI_H
#define P2PTOP_CPCI_H

#include <pci/pci.h>

/* Fixed-arity wrappers around the variadic pci_lookup_name(). Each returns buf. */
char *p2p_lookup_vendor(struct pci_access *a, char *buf, int size, int vendor);
char *p2p_lookup_device(struct pci_access *a, char *buf, int size, int vendor, int device);
char *p2p_lookup_class(struct pci_access *a, char *buf, int size, int class_id);
char *p2p_lookup_subsystem(struct pci_access *a, char *buf, int size,
                           int vendor, int device, int subvendor, int subdevice);

/* Allocates a pci_access whose error handler never exits the process and whose
 * warnings are collected instead of printed. Returns NULL if allocation failed. */
struct pci_access *p2p_alloc(void);

/* The libpci entry points that may call the error handler, guarded: each returns 0 on
 * success, -1 when libpci reported a fatal error (message in p2p_last_error()). After a
 * failure the pci_access must be discarded with p2p_cleanup_safe(). */
int p2p_init_safe(struct pci_access *a);
int p2p_scan_bus_safe(struct pci_access *a);
int p2p_fill_info_safe(struct pci_dev *d, int flags, int *known);
int p2p_read_block_safe(struct pci_dev *d, int pos, unsigned char *buf, int len, int *ok);
int p2p_cleanup_safe(struct pci_access *a);

/* Sets a libpci parameter (the string is copied by libpci). Returns 0 on success. */
int p2p_set_param(struct pci_access *a, const char *name, const char *value);

/* The message of the last fatal error or warning on this thread ("" if none). */
const char *p2p_last_error(void);
const char *p2p_last_warning(void);

/* The numbers Swift cannot see through enums/macros. */
static const int P2P_ACCESS_AUTO = PCI_ACCESS_AUTO;
static const int P2P_ACCESS_SYS_BUS_PCI = PCI_ACCESS_SYS_BUS_PCI;
static const int P2P_ACCESS_DUMP = PCI_ACCESS_DUMP;

#endif
