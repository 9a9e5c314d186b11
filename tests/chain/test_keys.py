from __future__ import annotations

import json

import pytest
from eth_account import Account

from peerhost.chain.errors import SigningKeyError
from peerhost.chain.keys import ANVIL_KEYS, load_account

ANVIL_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_key_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", ANVIL_KEYS[0])
    assert load_account(key_env="MY_KEY").address == ANVIL_0


def test_missing_key_names_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(SigningKeyError, match="set MY_KEY"):
        load_account(key_env="MY_KEY")


def test_malformed_key_is_not_echoed(monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", "0xdeadbeefsecret")
    with pytest.raises(SigningKeyError) as info:
        load_account(key_env="MY_KEY")
    assert "deadbeef" not in str(info.value)


def test_keystore(tmp_path, monkeypatch) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(ANVIL_KEYS[0], "pw", iterations=2)))
    monkeypatch.setenv("PEERHOST_KEYSTORE_PASSWORD", "pw")
    assert load_account(keystore=path).address == ANVIL_0
    with pytest.raises(SigningKeyError, match="wrong password"):
        load_account(keystore=path, password="nope")
    monkeypatch.delenv("PEERHOST_KEYSTORE_PASSWORD")
    with pytest.raises(SigningKeyError, match="needs a password"):
        load_account(keystore=path)
    with pytest.raises(SigningKeyError, match="does not exist"):
        load_account(keystore=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SigningKeyError, match="not a readable JSON keystore"):
        load_account(keystore=tmp_path / "bad.json")


def test_anvil_dev_keys_only_on_a_local_anvil(monkeypatch) -> None:
    from peerhost.chain.keys import signing_account

    assert signing_account(anvil_account=0, chain_id=31337).address == ANVIL_0
    assert signing_account(anvil_account=0).address == ANVIL_0, "chain unknown: nothing to refuse"
    with pytest.raises(SigningKeyError, match="only for a local anvil .* not chain 80002"):
        signing_account(anvil_account=0, chain_id=80002)
    monkeypatch.setenv("MY_KEY", ANVIL_KEYS[0])
    assert signing_account(key_env="MY_KEY", chain_id=80002).address == ANVIL_0, "real keys work on any chain"
