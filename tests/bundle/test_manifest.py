from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from peerhost.bundle.errors import ManifestError
from peerhost.bundle.manifest import load_manifest, parse_manifest

FULL = """
[project]
name = "weather"
[functions.forecast]
price = "0.01"
timeout_ms = 5000
memory_mb = 128
network = ["api.open-meteo.com"]
redundancy = 1
verify = "fastest"
env = ["API_KEY"]
"""


def test_design_example_parses() -> None:
    m = parse_manifest(FULL)
    fc = m.config_for("forecast")
    assert m.project.name == "weather"
    assert fc.price == Decimal("0.01") and fc.price_atomic == 10_000
    assert fc.network == ("api.open-meteo.com",)
    assert fc.env == ("API_KEY",)
    assert fc.verify == "fastest"


def test_defaults_for_unlisted_functions_and_project_pay_to() -> None:
    m = parse_manifest('[project]\nname = "p"\npay_to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"\n')
    fc = m.config_for("anything")
    assert fc.price == 0 and fc.timeout_ms == 5000 and fc.memory_mb == 128 and fc.redundancy == 1
    assert fc.pay_to == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[project]\nname = "p"\n[functions.f]\ncolour = 1', "functions.f.colour: unknown key"),
        ('[project]\nname = "Bad_Name"', "project.name: 'Bad_Name' is not a valid name"),
        ('[project]\nname = "p"\n[functions.Fn]', "functions: 'Fn' is not a valid name"),
        ('[project]\nname = "p"\n[functions.f]\nprice = "-1"', "functions.f.price: must not be negative"),
        ('[project]\nname = "p"\n[functions.f]\nprice = "abc"', "functions.f.price: must be a number of USDC"),
        ('[project]\nname = "p"\n[functions.f]\nprice = "0.0000001"', "functions.f.price: USDC has 6 decimals"),
        ('[project]\nname = "p"\n[functions.f]\ntimeout_ms = 0', "functions.f.timeout_ms: Input should be greater"),
        ('[project]\nname = "p"\n[functions.f]\nredundancy = 10', "functions.f.redundancy: Input should be less"),
        ('[project]\nname = "p"\n[functions.f]\nverify = "maybe"', "functions.f.verify: Input should be 'fastest'"),
        ('[project]\nname = "p"\n[functions.f]\nnetwork = ["http://x.com/"]', "functions.f.network: 'http://x.com/' is not a host"),
        ('[project]\nname = "p"\n[functions.f]\nenv = ["api-key"]', "functions.f.env: 'api-key' is not an environment"),
        ('[project]\nname = "p"\n[functions.f]\npay_to = "0x12"', "functions.f.pay_to: '0x12' is not a 0x address"),
        ("[functions.f]", "project: is required"),
        ("name = ", "not valid TOML"),
    ],
)  # fmt: skip
def test_errors_name_file_key_and_problem(text: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "proj/peerhost.toml")
    assert str(info.value).startswith("proj/peerhost.toml: ")
    assert expected in str(info.value)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="peerhost.toml: not found"):
        load_manifest(tmp_path)
