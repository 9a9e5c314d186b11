"""Resource limits of one invocation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one invocation may use. Hitting a limit ends it with an error named after the limit."""

    timeout_ms: int = 5_000  # wall clock
    memory_mb: int = 128  # private data (RLIMIT_DATA): heap, stacks, anonymous mappings
    cpu_ms: int | None = None  # CPU time; default: the wall-clock timeout plus one second
    max_processes: int = 32  # processes and threads of the sandbox user
    max_file_size_mb: int = 16  # any single file written
    tmp_size_mb: int = 32  # the private /tmp
    max_open_files: int = 256
    max_response_bytes: int = 6 * 1024 * 1024  # the function's response
    max_log_bytes: int = 1024 * 1024  # stdout + stderr; beyond it the invocation is stopped
    kept_log_bytes: int = 64 * 1024  # how much of the log is kept with the result

    @property
    def cpu_seconds(self) -> int:
        ms = self.cpu_ms if self.cpu_ms is not None else self.timeout_ms + 1000
        return max(1, -(-ms // 1000))
