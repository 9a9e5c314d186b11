"""A project on disk: its functions and the local files each one needs, read safely."""

from __future__ import annotations

import ast
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from peerhost.bundle.archive import DEFAULT_LIMITS, Limits
from peerhost.bundle.errors import BundleError, UnsafeContent
from peerhost.bundle.manifest import NAME_RE, Manifest

FUNCTIONS_DIR = "functions"
PYTHON_ENTRIES = ("{name}.py", "{name}/main.py")
NODE_ENTRIES = ("{name}.js", "{name}.mjs", "{name}/index.js", "{name}/index.mjs")
JS_EXTENSIONS = ("", ".js", ".mjs", ".cjs", ".json", "/index.js", "/index.mjs")
#: Never bundled, even when imported: these hold secrets by convention.
SECRET_PATTERNS = (re.compile(r"(^|/)\.env(\..*)?$"), re.compile(r"\.(pem|key|p12|pfx)$"),
                   re.compile(r"(^|/)id_(rsa|ed25519|ecdsa)"), re.compile(r"(^|/)\.git(/|$)"))  # fmt: skip

_JS_IMPORT = re.compile(
    r"""(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]"""
    r"""|import\s*['"]([^'"]+)['"]"""
    r"""|(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)"""
)


@dataclass(frozen=True)
class FunctionSource:
    name: str
    runtime: str  # "python" | "node"
    entry: str  # POSIX path relative to the project root


class ProjectFiles:
    """Reads files of a project by relative path, refusing anything that leaves the project."""

    def __init__(self, root: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.root = Path(root).resolve()
        self.limits = limits

    def resolve(self, rel: str) -> Path | None:
        """The real path of `rel` if it is a regular file inside the project, None if absent."""
        path = self.root / rel
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(st.st_mode):
            real = path.resolve()
            if not real.is_relative_to(self.root):
                raise UnsafeContent(f"{rel} is a symlink that leads out of the project (to {real})")
            try:
                st = os.stat(real)
            except FileNotFoundError:
                raise BundleError(f"{rel} is a broken symlink") from None
            path = real
        if stat.S_ISDIR(st.st_mode):
            return None
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeContent(f"{rel} is not a regular file (device, FIFO or socket): refusing it")
        if st.st_size > self.limits.max_file_size:
            raise UnsafeContent(f"{rel} is {st.st_size} bytes, more than the limit of {self.limits.max_file_size}")
        return path

    def is_file(self, rel: str) -> bool:
        return self.resolve(rel) is not None

    def read(self, rel: str) -> bytes:
        path = self.resolve(rel)
        if path is None:
            raise BundleError(f"{rel}: no such file in the project")
        for pattern in SECRET_PATTERNS:
            if pattern.search(rel):
                raise UnsafeContent(f"{rel} looks like a secret and is never bundled")
        return path.read_bytes()


def discover_functions(files: ProjectFiles, manifest: Manifest) -> list[FunctionSource]:
    """Every function in `functions/`, plus a check that the manifest lists only existing ones."""
    functions_dir = files.root / FUNCTIONS_DIR
    found: dict[str, FunctionSource] = {}
    names: set[str] = set()
    if functions_dir.is_dir():
        for entry in sorted(os.listdir(functions_dir)):
            if entry.startswith((".", "_")) or entry == "__pycache__":
                continue
            names.add(re.sub(r"\.(py|js|mjs)$", "", entry))
    names |= set(manifest.functions)
    for name in sorted(names):
        candidates = [(fmt.format(name=name), "python") for fmt in PYTHON_ENTRIES]
        candidates += [(fmt.format(name=name), "node") for fmt in NODE_ENTRIES]
        present = [(f"{FUNCTIONS_DIR}/{rel}", rt) for rel, rt in candidates if files.is_file(f"{FUNCTIONS_DIR}/{rel}")]
        if not present:
            if name in manifest.functions:
                tried = ", ".join(f"{FUNCTIONS_DIR}/{fmt.format(name=name)}" for fmt in PYTHON_ENTRIES + NODE_ENTRIES[:1])
                raise BundleError(f"peerhost.toml: functions.{name}: no function file ({tried}, ...)")
            continue  # a folder without an entry point is not a function
        if len(present) > 1:
            raise BundleError(f"function {name!r} has several entry points: {', '.join(p for p, _ in present)}")
        if not NAME_RE.match(name):
            raise BundleError(
                f"{present[0][0]}: {name!r} is not a valid function name (lowercase letters, digits, '-'); "
                "prefix helper modules with '_'"
            )
        found[name] = FunctionSource(name, present[0][1], present[0][0])
    if not found:
        raise BundleError(f"{files.root}: no functions found in {FUNCTIONS_DIR}/")
    return list(found.values())


def _python_candidates(module: str, search_dirs: list[str]) -> list[str]:
    parts = module.split(".")
    out = []
    for base in search_dirs:
        prefix = f"{base}/" if base else ""
        for i in range(1, len(parts) + 1):
            out.append(prefix + "/".join(parts[:i]) + "/__init__.py")
        out.append(prefix + "/".join(parts) + ".py")
    return out


def _python_imports(rel: str, source: bytes) -> list[tuple[str, int]]:
    """(module, level) pairs imported by a Python file."""
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as exc:
        raise BundleError(f"{rel}:{exc.lineno}: syntax error: {exc.msg}") from None
    modules: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            modules.append((base, node.level))
            modules += [(f"{base}.{alias.name}" if base else alias.name, node.level) for alias in node.names]
    return modules


def local_dependencies(files: ProjectFiles, function: FunctionSource) -> list[str]:
    """The entry file and every project file it imports, transitively (sorted)."""
    entry_dir = str(PurePosixPath(function.entry).parent)
    seen: set[str] = set()
    todo = [function.entry]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        source = files.read(rel)
        if function.runtime == "python" and rel.endswith(".py"):
            here = str(PurePosixPath(rel).parent)
            for module, level in _python_imports(rel, source):
                if level:
                    base = PurePosixPath(here)
                    for _ in range(level - 1):
                        base = base.parent
                    dirs = [str(base) if str(base) != "." else ""]
                else:
                    dirs = [entry_dir, ""]
                if not module:
                    continue
                for candidate in _python_candidates(module, dirs):
                    if files.is_file(candidate):
                        todo.append(candidate)
        elif function.runtime == "node" and rel.endswith((".js", ".mjs", ".cjs")):
            text = source.decode("utf-8", "replace")
            for match in _JS_IMPORT.finditer(text):
                spec = next(g for g in match.groups() if g)
                if not spec.startswith(("./", "../")):
                    continue
                target = posix_join(str(PurePosixPath(rel).parent), spec)
                if target is None:
                    raise UnsafeContent(f"{rel} imports {spec!r}, which leads out of the project")
                resolved = next((target + ext for ext in JS_EXTENSIONS if files.is_file(target + ext)), None)
                if resolved is None:
                    raise BundleError(f"{rel}: cannot resolve import {spec!r}")
                todo.append(resolved)
    return sorted(seen)


def posix_join(base: str, spec: str) -> str | None:
    """Joins a relative specifier to a project-relative directory; None if it escapes the project."""
    parts = [] if base in ("", ".") else base.split("/")
    for piece in spec.split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(piece)
    return "/".join(parts)
