"""A model download cut short: the partial file is never used, and the next attempt fetches it whole.

The local Hub server (tests/_hub_server.py) serves a checkpoint whose weights are sent half-way (the file behind it
is cut after the server read its size and hash, as a dropped connection would leave it); then the whole file again.
"""

from __future__ import annotations

import shutil

import pytest
from _hub_server import HubServer
from test_hub_server import _point_client

from xlm.errors import ModelNotFoundError
from xlm.files import resolve_model_dir


@pytest.fixture
def checkpoint(make_model, tmp_path):
    folder = tmp_path / "repo"
    shutil.copytree(make_model("XLMWithLMHeadModel", seed=4), folder)
    return folder


def test_a_cut_download_is_not_used_and_the_next_one_is_whole(checkpoint, tmp_path, monkeypatch):
    weights = checkpoint / "model.safetensors"
    whole = weights.read_bytes()
    with HubServer() as hub:
        hub.add_repo("org/cut", {"main": checkpoint})
        _point_client(monkeypatch, hub.endpoint, tmp_path / "hf")
        weights.write_bytes(whole[: len(whole) // 2])
        with pytest.raises(
            ModelNotFoundError,
            match=r"Could not download 'org/cut'.*Consistency check failed.*Nothing partial was kept: try again\.$",
        ):
            resolve_model_dir("org/cut")
        cache = tmp_path / "hf" / "hub" / "models--org--cut"
        assert not list(cache.rglob("model.safetensors"))  # nothing under the name the loader reads
        assert all(
            p.stat().st_size != len(whole) // 2 for p in cache.rglob("*") if p.is_file()
        )  # no partial blob

        weights.write_bytes(whole)
        folder = resolve_model_dir("org/cut")
    assert (folder / "model.safetensors").read_bytes() == whole
