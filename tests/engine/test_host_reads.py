"""The training step never reads a tensor back to the host from ganforge's own code (`.item()`, `float()`,
`bool()`, `.tolist()`...): on a GPU each such read waits for the queue to drain, which is what makes small GAN
steps slow. This runs everywhere; `test_speed_cuda.py` checks whole steps with CUDA's sync debug mode."""
import sys
from pathlib import Path

import pytest
import torch

from ganforge.config import make_config
from ganforge.data import build_dataset
from ganforge.engine.training import Training

from ..runs import image_overrides

SOURCE = str(Path(__import__("ganforge").__file__).parent)
READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")
PGGAN = ["model.name=pggan", "loss.name=wasserstein", "reg.gp=10", "reg.drift=0.001",
         "growth.stable_images=16", "growth.fade_images=32"]  # 8x8: one step at 4x4, then the fade


@pytest.fixture
def host_reads(monkeypatch):
    """Records (method, file:line) of every host read of a tensor made from ganforge's source."""
    seen = []
    for name in READS:
        original = getattr(torch.Tensor, name)

        def read(self, *args, _name=name, _original=original, **kwargs):
            caller = sys._getframe(1).f_code
            if caller.co_filename.startswith(SOURCE):
                seen.append(f"{_name} in {caller.co_filename}:{sys._getframe(1).f_lineno}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, read)
    return seen


def test_the_recorder_sees_a_read_from_ganforge(host_reads):
    from ganforge.models.spectral import layer_sigma  # reads sigma with float(): a log-step statistic

    layer_sigma(torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 3)))
    assert host_reads and "spectral.py" in host_reads[0]


@pytest.mark.parametrize("extra", [
    [], ["model.d_sn=true", "model.g_sn=true", "loss.name=hinge", "train.n_dis=2"],
    ["train.unroll=2", "loss.real_label=0.9"], ["model.mbd_kernels=4", "reg.r1=1"],
    ["model.g_label=concat", "model.d_label=acgan"], ["train.amp=bf16", "optim.impl=fused"], PGGAN,
], ids=["dcgan", "sn-hinge-ndis2", "unrolled-smoothed", "mbd-r1", "conditional", "bf16-fused", "pggan-growing"])
def test_training_steps_make_no_host_reads(tiny_images, tmp_path, host_reads, extra):
    config = make_config({}, image_overrides(tiny_images, tmp_path) + extra)
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    training.train_step()  # set-up on the first call may read
    host_reads.clear()
    for _ in range(3):
        training.train_step()
    assert host_reads == []
