"""`data.mirror`: a seeded half of each epoch's real images flipped left to right, on the training device."""
import subprocess
import sys

import torch

from ganforge.config import make_config
from ganforge.data import BatchOrder, build_dataset, mirrored
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import resume_config, train
from ganforge.engine.training import Training

from ..engine.test_resume import assert_same_state
from ..runs import image_overrides


def test_mirrored_flips_exactly_the_chosen_images():
    x = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).view(2, 1, 2, 3)
    out = mirrored(x, torch.tensor([True, False]))
    assert out[0].tolist() == [[[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]] and torch.equal(out[1], x[1])


def test_flips_leave_the_order_alone_and_repeat_after_a_resume():
    plain, mirror = BatchOrder(100, 10, seed=3), BatchOrder(100, 10, seed=3, mirror=True)
    first = [mirror.next() for _ in range(15)]  # into the second epoch
    assert all(torch.equal(plain.next()[0], index) for index, _ in first) and plain.next()[1] is None
    flips = torch.cat([f for _, f in first[:10]])
    assert 30 < int(flips.sum()) < 70  # about half of an epoch of 100
    resumed = BatchOrder(100, 10, seed=3, mirror=True)
    resumed.load_state_dict({"epoch": 1, "position": 20})
    index, f = resumed.next()
    assert torch.equal(index, first[12][0]) and torch.equal(f, first[12][1])


def test_training_batches_are_the_plain_ones_with_the_flips_applied(tiny_images, tmp_path):
    def batches(extra):
        config = make_config({}, image_overrides(tiny_images, tmp_path) + extra)
        t = Training(config, build_dataset(config.data), torch.device("cpu"))
        return [t.real_batch()[0] for _ in range(4)], t

    plain, _ = batches([])
    flipped, t = batches(["data.mirror=true"])
    order = BatchOrder(256, 16, seed=t.config.seed, mirror=True)
    for p, f in zip(plain, flipped):
        chosen = order.next()[1]
        assert torch.equal(f[chosen], p[chosen].flip(3)) and torch.equal(f[~chosen], p[~chosen])
        assert chosen.any() and not chosen.all()


def test_a_mirrored_run_resumes_exactly(tiny_images, tmp_path):
    overrides = image_overrides(tiny_images, tmp_path, steps=8) + ["data.mirror=true"]
    straight = train(make_config({}, overrides), run_dir=tmp_path / "a")
    train(make_config({}, image_overrides(tiny_images, tmp_path, steps=3) + ["data.mirror=true"]),
          run_dir=tmp_path / "b")
    resumed = train(resume_config(tmp_path / "b", ["train.steps=8"]), resume=tmp_path / "b")
    assert_same_state(load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint))


def test_mirroring_points_is_refused_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ganforge", "train", "toy_ring", "data.mirror=true",
                           f"out_dir={tmp_path}", "train.steps=2"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("data.mirror flips images left to right; "
                                                          "data.name=ring has no images")
    assert not list(tmp_path.iterdir())  # refused before anything was written
