#include "cpci.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local sigjmp_buf *p2p_jump;
static _Thread_local char p2p_error_text[512];
static _Thread_local char p2p_warning_text[512];

static void __attribute__((noreturn, format(printf, 1, 2))) p2p_error(char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    vsnprintf(p2p_error_text, sizeof p2p_error_text, msg, ap);
    va_end(ap);
    if (p2p_jump)
        siglongjmp(*p2p_jump, 1);
    /* Never reached from Swift: every call that can fail goes through a guard. */
    abort();
}

static void __attribute__((format(printf, 1, 2))) p2p_warning(char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    vsnprintf(p2p_warning_text, sizeof p2p_warning_text, msg, ap);
    va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) p2p_debug(char *msg, ...)
{
    (void)msg;
}

struct pci_access *p2p_alloc(void)
{
    struct pci_access *a = pci_alloc();
    if (!a)
        return NULL;
    a->error = p2p_error;
    a->warning = p2p_warning;
    a->debug = p2p_debug;
    p2p_error_text[0] = 0;
    p2p_warning_text[0] = 0;
    return a;
}

/* One guard per entry point: the jump buffer lives in this C frame only. */
#define P2P_GUARDED(call)                                    \
    do {                                                     \
        sigjmp_buf jb;                                       \
        sigjmp_buf *volatile previous = p2p_jump;            \
        if (sigsetjmp(jb, 0)) {                              \
            p2p_jump = previous;                             \
            return -1;                                       \
        }                                                    \
        p2p_jump = &jb;                                      \
        call;                                                \
        p2p_jump = previous;                                 \
    } while (0)

int p2p_init_safe(struct pci_access *a)
{
    P2P_GUARDED(pci_init(a));
    return 0;
}

int p2p_scan_bus_safe(struct pci_access *a)
{
    P2P_GUARDED(pci_scan_bus(a));
    return 0;
}

int p2p_fill_info_safe(struct pci_dev *d, int flags, int *known)
{
    int k = 0;
    P2P_GUARDED(k = pci_fill_info(d, flags));
    *known = k;
    return 0;
}

int p2p_read_block_safe(struct pci_dev *d, int pos, unsigned char *buf, int len, int *ok)
{
    int r = 0;
    P2P_GUARDED(r = pci_read_block(d, pos, buf, len));
    *ok = r;
    return 0;
}

int p2p_cleanup_safe(struct pci_access *a)
{
    P2P_GUARDED(pci_cleanup(a));
    return 0;
}

int p2p_set_param(struct pci_access *a, const char *name, const char *value)
{
    return pci_set_param(a, (char *)name, (char *)value);
}

const char *p2p_last_error(void) { return p2p_error_text; }
const char *p2p_last_warning(void) { return p2p_warning_text; }

/* Name lookups may hit libpci's error handler too (a broken ids file); they return NULL then. */
#define P2P_GUARDED_LOOKUP(call)                             \
    do {                                                     \
        sigjmp_buf jb;                                       \
        sigjmp_buf *volatile previous = p2p_jump;            \
        char *volatile result = NULL;                        \
        if (sigsetjmp(jb, 0)) {                              \
            p2p_jump = previous;                             \
            return NULL;                                     \
        }                                                    \
        p2p_jump = &jb;                                      \
        result = call;                                       \
        p2p_jump = previous;                                 \
        return result;                                       \
    } while (0)

char *p2p_lookup_vendor(struct pci_access *a, char *buf, int size, int vendor)
{
    P2P_GUARDED_LOOKUP(pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR, vendor));
}

char *p2p_lookup_device(struct pci_access *a, char *buf, int size, int vendor, int device)
{
    P2P_GUARDED_LOOKUP(pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE, vendor, device));
}

char *p2p_lookup_class(struct pci_access *a, char *buf, int size, int class_id)
{
    P2P_GUARDED_LOOKUP(pci_lookup_name(a, buf, size, PCI_LOOKUP_CLASS, class_id));
}

char *p2p_lookup_subsystem(struct pci_access *a, char *buf, int size,
                           int vendor, int device, int subvendor, int subdevice)
{
    P2P_GUARDED_LOOKUP(pci_lookup_name(a, buf, size,
                                       PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
                                       vendor, device, subvendor, subdevice));
}
