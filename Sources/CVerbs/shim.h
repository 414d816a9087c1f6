#ifndef P2PTOP_CVERBS_SHIM_H
#define P2PTOP_CVERBS_SHIM_H
// libibverbs for device discovery, memory registration and a loopback RDMA WRITE.
// Function-like macros are invisible to Swift: call ___ibv_query_port (the header's
// static inline) rather than ibv_query_port, which would bind to the compat ABI symbol.
#include <infiniband/verbs.h>
#endif
