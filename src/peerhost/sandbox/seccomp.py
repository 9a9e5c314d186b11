"""A seccomp filter (classic BPF) that denies what a function never needs.

Built by hand so that no native library is required: bubblewrap loads it with `--seccomp FD`.
Denied calls fail with EPERM (clone3 with ENOSYS, so that libc falls back to clone); any other
architecture or the x32 ABI is refused outright.
"""

from __future__ import annotations

import platform
import struct

from peerhost.sandbox.errors import SandboxError

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
EPERM, ENOSYS = 1, 38

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06

#: x86_64 syscall numbers denied to functions.
DENIED_X86_64: dict[str, int] = {
    "ptrace": 101, "syslog": 103, "personality": 135, "vhangup": 153, "pivot_root": 155, "adjtimex": 159,
    "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167,
    "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176,
    "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246, "add_key": 248,
    "request_key": 249, "keyctl": 250, "unshare": 272, "perf_event_open": 298, "fanotify_init": 300,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
}  # fmt: skip
#: Calls refused with ENOSYS ("not implemented") so that callers fall back gracefully.
ENOSYS_X86_64: dict[str, int] = {"clone3": 435}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_filter() -> bytes:
    """The BPF program for this machine's architecture."""
    if platform.machine() not in ("x86_64", "AMD64"):
        raise SandboxError(f"the seccomp filter supports x86_64 only, not {platform.machine()}")
    rules = [(nr, SECCOMP_RET_ERRNO | EPERM) for nr in sorted(DENIED_X86_64.values())]
    rules += [(nr, SECCOMP_RET_ERRNO | ENOSYS) for nr in ENOSYS_X86_64.values()]
    prog = [
        _insn(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        _insn(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        _insn(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        _insn(BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        _insn(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
        _insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),
    ]
    for nr, action in rules:
        prog.append(_insn(BPF_JEQ_K, 0, 1, nr))
        prog.append(_insn(BPF_RET_K, 0, 0, action))
    prog.append(_insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    return b"".join(prog)
