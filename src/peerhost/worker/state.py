"""The worker's persisted state: where to resume the event stream, and commitments to reveal.

Written atomically after every change, so that a restart (or a crash) neither skips a request
nor forgets a commitment it must reveal (an unrevealed commitment is slashed)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class WorkerState:
    path: Path
    next_block: int | None = None
    reveals: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id -> {result_hash, salt, deadline}

    @classmethod
    def load(cls, path: Path) -> WorkerState:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            return cls(Path(path))
        return cls(Path(path), data.get("next_block"), data.get("reveals", {}))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        with os.fdopen(fd, "w") as f:
            json.dump({"next_block": self.next_block, "reveals": self.reveals}, f)
        os.replace(tmp, self.path)
