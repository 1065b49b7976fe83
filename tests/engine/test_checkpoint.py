import os

import pytest
import torch

from ganforge.engine.checkpoint import load_checkpoint, save_checkpoint
from ganforge.errors import CheckpointError


def test_round_trip_and_atomic_write(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"step": 3, "weights": {"w": torch.arange(4.0)}, "spec": {"width": 8}})
    payload = load_checkpoint(path)
    assert payload["step"] == 3 and torch.equal(payload["weights"]["w"], torch.arange(4.0))
    assert os.listdir(tmp_path) == ["ck.pt"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"step": 1})

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(Exception):
        save_checkpoint(path, {"step": 2, "bad": Unsaveable()})
    assert load_checkpoint(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ck.pt"]


def test_arbitrary_pickles_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pt"
    torch.save({"format": "ganforge-checkpoint", "version": 1, "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a readable ganforge checkpoint"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content, message", [
    (b"garbage", "not a readable ganforge checkpoint"),
    (None, "not a ganforge checkpoint"),
])
def test_corrupt_or_foreign_files(tmp_path, content, message):
    path = tmp_path / "ck.pt"
    if content is None:
        torch.save({"weights": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"w": torch.randn(1000)})
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_other_version_and_missing(tmp_path):
    path = tmp_path / "ck.pt"
    torch.save({"format": "ganforge-checkpoint", "version": 99}, path)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path)  # a directory without checkpoint.pt
