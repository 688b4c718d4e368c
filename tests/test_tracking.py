"""W&B mode choice: online only with credentials, never a prompt."""

from __future__ import annotations

import pytest

from genlab.tracking import has_wandb_credentials, resolve_mode


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for var in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    return tmp_path


def test_auto_is_offline_without_credentials(no_credentials):
    assert not has_wandb_credentials()
    assert resolve_mode("auto") == "offline"


def test_auto_is_online_with_an_api_key(no_credentials, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode("auto") == "online"


def test_auto_is_online_after_wandb_login(no_credentials):
    (no_credentials / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    (no_credentials / ".netrc").chmod(0o600)
    assert resolve_mode("auto") == "online"


def test_explicit_modes_win(no_credentials, monkeypatch):
    assert resolve_mode("disabled") == "disabled"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode("auto") == "offline"
    assert resolve_mode("online") == "online"
