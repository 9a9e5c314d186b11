"""`peerhost.toml`: the project manifest, validated with errors that name the file, key and problem."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from peerhost.bundle.errors import ManifestError

MANIFEST_NAME = "peerhost.toml"
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
USDC_DECIMALS = 6


def check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use 1-63 lowercase letters, digits and '-', not starting or ending with '-'"
        )
    return value


class FunctionConfig(BaseModel):
    """One `[functions.<name>]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price: Decimal = Decimal(0)
    pay_to: str | None = None
    timeout_ms: int = Field(5000, ge=1, le=300_000)
    memory_mb: int = Field(128, ge=16, le=8192)
    network: tuple[str, ...] = ()
    redundancy: int = Field(1, ge=1, le=9)
    verify: Literal["fastest", "quorum", "finalized"] = "fastest"
    env: tuple[str, ...] = ()

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise ValueError("must be a number of USDC such as \"0.01\"")
        try:
            price = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"must be a number of USDC such as \"0.01\" (got {value!r})") from None
        if not price.is_finite():
            raise ValueError("must be a finite number")
        if price < 0:
            raise ValueError(f"must not be negative (got {value!r})")
        if price != price.quantize(Decimal(1).scaleb(-USDC_DECIMALS)):
            raise ValueError(f"USDC has {USDC_DECIMALS} decimals: {value!r} is too precise")
        return price

    @field_validator("pay_to")
    @classmethod
    def _pay_to(cls, value: str | None) -> str | None:
        if value is not None and not ADDRESS_RE.match(value):
            raise ValueError(f"{value!r} is not a 0x address")
        return value

    @field_validator("network")
    @classmethod
    def _network(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            if not isinstance(host, str) or not HOST_RE.match(host):
                raise ValueError(f"{host!r} is not a host name (like \"api.example.com\" or \"api.example.com:8443\")")
        return tuple(sorted(set(hosts)))

    @field_validator("env")
    @classmethod
    def _env(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not ENV_RE.match(name):
                raise ValueError(f"{name!r} is not an environment variable name (like \"API_KEY\")")
        if len(set(names)) != len(names):
            raise ValueError("lists a name twice")
        return tuple(names)

    @property
    def price_atomic(self) -> int:
        """Price in USDC atomic units (6 decimals)."""
        return int(self.price.scaleb(USDC_DECIMALS))


class ProjectTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    pay_to: str | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))

    @field_validator("pay_to")
    @classmethod
    def _pay_to(cls, value: str | None) -> str | None:
        if value is not None and not ADDRESS_RE.match(value):
            raise ValueError(f"{value!r} is not a 0x address")
        return value


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project: ProjectTable
    functions: dict[str, FunctionConfig] = Field(default_factory=dict)

    @field_validator("functions")
    @classmethod
    def _names(cls, functions: dict[str, FunctionConfig]) -> dict[str, FunctionConfig]:
        for name in functions:
            check_name(name)
        return functions

    def config_for(self, name: str) -> FunctionConfig:
        """The function's table, or the defaults for a function the manifest does not list."""
        config = self.functions.get(name, FunctionConfig())
        if config.pay_to is None and self.project.pay_to is not None:
            config = config.model_copy(update={"pay_to": self.project.pay_to})
        return config


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def parse_manifest(text: str, source: str = MANIFEST_NAME) -> Manifest:
    """Parses and validates manifest text; `source` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = _location(error["loc"]) or "(top level)"
            kind = error["type"]
            if kind == "extra_forbidden":
                message = "unknown key"
            elif kind == "missing":
                message = "is required"
            else:
                message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {where}: {message}")
        raise ManifestError("\n".join(problems)) from None


def load_manifest(project_dir: Path) -> Manifest:
    """Loads `<project_dir>/peerhost.toml`."""
    path = Path(project_dir) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found — a PeerHost project has a {MANIFEST_NAME} at its root") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text") from None
    return parse_manifest(text, str(path))
