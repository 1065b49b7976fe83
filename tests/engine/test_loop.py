"""What a run leaves behind, and how it stops on divergence."""
import json

import pytest
import torch
import yaml

from ganforge.config import load_config, make_config
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import train
from ganforge.engine.training import Training
from ganforge.errors import ConfigError, TrainingDiverged

from ..runs import image_overrides, toy_overrides


def test_run_directory_contents(tiny_images, tmp_path):
    config = make_config({}, image_overrides(tiny_images, tmp_path, steps=6))
    result = train(config, run_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert load_config(run / "config.yaml") == config
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 3, 4, 6]  # every log_every, and at each checkpoint
    for key in ("loss/d", "loss/g", "d/acc_real", "d/acc_fake", "images_per_second", "time"):
        assert key in records[0]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    assert result.picture == run / "samples" / "step_0000006.png"
    payload = load_checkpoint(run)
    assert payload["step"] == 6 and payload["config"]["train"]["steps"] == 6
    assert payload["data"]["sample_shape"] == [1, 8, 8] and payload["data"]["num_classes"] == 4
    assert not list(run.glob("*.tmp"))


def test_training_step_changes_both_networks(tiny_images, tmp_path):
    from ganforge.data import build_dataset

    config = make_config({}, image_overrides(tiny_images, tmp_path))
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    before_g = [p.clone() for p in training.G.parameters()]
    before_d = [p.clone() for p in training.D.parameters()]
    training.train_step()
    assert all(not torch.equal(a, b) for a, b in zip(before_g, training.G.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(before_d, training.D.parameters()))
    assert all(p.requires_grad for p in training.D.parameters())


def test_n_dis_draws_that_many_real_batches(tmp_path):
    from ganforge.data import build_dataset

    config = make_config({}, toy_overrides(tmp_path) + ["train.n_dis=3"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    training.train_step()
    assert training.order.position == 3 * config.train.batch_size
    assert training.opt_d.state_dict()["state"][0]["step"].item() == 3
    assert training.opt_g.state_dict()["state"][0]["step"].item() == 1


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    original = Training.train_step

    def poisoned(self):
        if self.step == 25:  # after the checkpoint at step 20, a weight goes bad
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("nan"))
        return original(self)

    monkeypatch.setattr(Training, "train_step", poisoned)
    config = make_config({}, toy_overrides(tmp_path, steps=60) + ["train.ckpt_every=20"])
    with pytest.raises(TrainingDiverged, match=r"diverged by step 30: loss/\w became nan; last good checkpoint"):
        train(config, run_dir=tmp_path / "run")
    payload = load_checkpoint(tmp_path / "run")
    assert payload["step"] == 20
    assert all(torch.isfinite(t).all() for t in payload["generator"].values())


def test_resume_of_a_finished_run_asks_for_more_steps(tmp_path):
    from ganforge.engine.loop import resume_config

    train(make_config({}, toy_overrides(tmp_path, steps=10)), run_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match="already at step 10; pass train.steps"):
        train(resume_config(tmp_path / "run"), resume=tmp_path / "run")


def test_resolved_config_is_plain_yaml(tmp_path):
    train(make_config({}, toy_overrides(tmp_path, steps=10)), run_dir=tmp_path / "run")
    tree = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert tree["train"]["steps"] == 10 and tree["data"]["name"] == "ring"


def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path, monkeypatch):
    from ganforge.engine.loop import resume_config
    from ganforge.errors import Interrupted

    original = Training.train_step

    def interrupted_at_7(self):
        if self.step == 7:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Training, "train_step", interrupted_at_7)
    with pytest.raises(Interrupted, match="interrupted at step 7; checkpoint saved"):
        train(make_config({}, toy_overrides(tmp_path, steps=20)), run_dir=tmp_path / "run")
    assert load_checkpoint(tmp_path / "run")["step"] == 7
    monkeypatch.setattr(Training, "train_step", original)
    assert train(resume_config(tmp_path / "run"), resume=tmp_path / "run").steps == 20


def test_scalars_are_mirrored_to_tensorboard_when_installed(tmp_path, monkeypatch):
    import sys
    import types

    written = []

    class FakeWriter:
        def __init__(self, log_dir):
            written.append(("dir", log_dir))

        def add_scalar(self, name, value, step):
            written.append((name, step))

        def close(self):
            written.append(("closed", None))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=FakeWriter))
    overrides = toy_overrides(tmp_path, steps=20) + ["train.tensorboard=true"]
    train(make_config({}, overrides), run_dir=tmp_path / "run")
    assert written[0] == ("dir", str(tmp_path / "run" / "tensorboard"))
    assert ("loss/d", 10) in written and ("loss/g", 20) in written and written[-1] == ("closed", None)


def test_log_records_the_balance_of_d_and_g(tmp_path):
    """Goodfellow 2016, section 5.1: the D/G loss ratio is logged beside D's accuracy on real and fake."""
    from ganforge.engine.stats import read_log

    train(make_config({}, toy_overrides(tmp_path, steps=20)), run_dir=tmp_path / "r")
    for record in read_log(tmp_path / "r" / "log.jsonl"):
        assert record["loss/d_over_g"] == pytest.approx(record["loss/d"] / record["loss/g"])
        assert 0 <= record["d/acc_real"] <= 1 and 0 <= record["d/acc_fake"] <= 1


def test_a_new_run_refuses_a_directory_that_holds_one(tmp_path):
    train(make_config({}, toy_overrides(tmp_path, steps=10)), run_dir=tmp_path / "run")
    before = (tmp_path / "run" / "log.jsonl").read_text()
    with pytest.raises(ConfigError, match="already holds a run; continue it with `ganforge train --resume"):
        train(make_config({}, toy_overrides(tmp_path, steps=20)), run_dir=tmp_path / "run")
    assert (tmp_path / "run" / "log.jsonl").read_text() == before


def test_a_process_that_is_not_the_writer_trains_but_writes_nothing(tmp_path):
    """The one switch a distributed run needs for its other ranks: same steps, no files."""
    from ganforge.data import build_dataset
    from ganforge.engine.distributed import World
    from ganforge.engine.loop import _Run

    config = make_config({}, toy_overrides(tmp_path, steps=20) + ["train.sample_every=10", "train.ckpt_every=10"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    (tmp_path / "run").mkdir()
    result = _Run(training, tmp_path / "run", False, None, World(rank=1)).run()
    assert result.steps == 20 and list((tmp_path / "run").iterdir()) == []


def test_throughput_clock_leaves_file_time_out_of_the_speed(monkeypatch):
    from ganforge.engine import loop

    now = [100.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: now[0])
    clock = loop.ThroughputClock(time_before=50.0)
    clock.count(64)
    now[0] += 2.0          # 2 s of training
    with clock.paused():
        now[0] += 6.0      # 6 s writing files
    assert clock.interval() == {"time": 58.0, "images_per_second": 32.0}
    clock.count(30)
    now[0] += 1.0
    assert clock.interval()["images_per_second"] == 30.0
    assert clock.images_per_second() == pytest.approx(94 / 3.0) and clock.seconds() == 9.0
