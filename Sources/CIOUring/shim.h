#ifndef P2PTOP_CIOURING_SHIM_H
#define P2PTOP_CIOURING_SHIM_H
// io_uring without liburing: the three system calls (syscall() is variadic, so Swift cannot
// call it), acquire/release accesses to the shared ring indices, and filling a submission
// entry (its fields sit in unions Swift handles poorly). Everything else is in Swift.
#include <linux/io_uring.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int p2p_io_uring_setup(unsigned entries, struct io_uring_params *p) {
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static inline int p2p_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}

static inline int p2p_io_uring_register(int fd, unsigned opcode, void *arg, unsigned nr_args) {
    return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

/// Registering and unregistering fixed buffers. The opcodes are an anonymous enum in older
/// kernel headers and `enum io_uring_register_op` in newer ones: kept on the C side so Swift
/// sees one signature either way.
static inline int p2p_io_uring_register_buffers(int fd, void *iov, unsigned nr) {
    return p2p_io_uring_register(fd, IORING_REGISTER_BUFFERS, iov, nr);
}
static inline int p2p_io_uring_unregister_buffers(int fd) {
    return p2p_io_uring_register(fd, IORING_UNREGISTER_BUFFERS, 0, 0);
}

static inline unsigned p2p_load_acquire(const unsigned *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void p2p_store_release(unsigned *p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/// A read or write of `len` bytes at `off` into `addr`; `buf_index` ≥ 0 for a registered buffer
/// (IORING_OP_READ_FIXED / WRITE_FIXED).
static inline void p2p_prep_rw(struct io_uring_sqe *sqe, int write, int fd, void *addr, unsigned len,
                               unsigned long long off, unsigned long long user_data, int buf_index) {
    memset(sqe, 0, sizeof(*sqe));
    if (buf_index >= 0) {
        sqe->opcode = write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
        sqe->buf_index = (unsigned short)buf_index;
    } else {
        sqe->opcode = write ? IORING_OP_WRITE : IORING_OP_READ;
    }
    sqe->fd = fd;
    sqe->addr = (unsigned long long)(unsigned long)addr;
    sqe->len = len;
    sqe->off = off;
    sqe->user_data = user_data;
}
#endif
