"""Data-parallel training on 2 gloo processes against one process, and the rules the ranks agree on.

Starting processes is the slow part, so one spawn of 2 ranks runs every distributed scenario in turn through
`ganforge.runner.train` (the loop joins the process group the worker set up) and saves what each rank holds;
the tests compare those states with each other and with single-process runs made here.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

import ganforge
from ganforge.config import make_config
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import resume_config
from ganforge.runner import train

from ..runs import image_overrides, toy_overrides

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="needs torch.distributed with the gloo backend")
RANKS = 2


def mlp(tmp: Path, steps: int = 12, extra: tuple[str, ...] = ()) -> list[str]:
    """The toy MLP (no batch norm): N ranks must train exactly as one process."""
    return [*toy_overrides(tmp, steps), "train.ema_decay=0.9", "train.log_every=4", "train.ckpt_every=6",
            "train.sample_every=6", *extra]


GP = ("reg.gp=1", "eval.every=6", "eval.metrics=modes", "eval.n=300")
BN_EVAL = ("eval.every=3", "eval.metrics=swd", "eval.n=64")  # samples in eval mode read batch-norm statistics
EVAL_N = 301  # generated samples in the evaluation test: not a multiple of the ranks


def grown(tmp: Path):
    """The growing run's EMA generator, its D, and its config asking for SWD of EVAL_N samples."""
    from ganforge.generate import load_generator
    from ganforge.models import rebuild

    payload = load_checkpoint(tmp / "grow")
    config = make_config(payload["config"], ["eval.every=5", "eval.metrics=swd", f"eval.n={EVAL_N}"])
    D = rebuild(payload["models"], "discriminator")
    return load_generator(tmp / "grow" / "checkpoint.pt", True), D, config


def scenarios(tmp: Path) -> dict[str, dict]:
    """name -> overrides (or the run to resume) and what the worker does to one rank during it."""
    npz = tmp / "images16.npz"
    return {
        "gp": {"overrides": mlp(tmp, extra=GP)},
        "unrolled": {"overrides": mlp(tmp, steps=6, extra=("train.unroll=2",))},
        "mode_seeking": {"overrides": mlp(tmp, steps=6, extra=("loss.mode_seeking=1",))},
        "bf16": {"overrides": mlp(tmp, steps=6, extra=("train.amp=bf16", "optim.impl=foreach"))},
        "compiled": {"overrides": mlp(tmp, steps=4, extra=("train.compile=default", "train.ckpt_every=4",
                                                           "train.sample_every=4"))},
        "sn_bn": {"overrides": [*image_overrides(npz, tmp, steps=6), "data.resolution=16", "model.d_sn=true",
                                "model.g_sn=true", *BN_EVAL]},
        "grow": {"overrides": [f"out_dir={tmp}", "data.name=npz", f"data.root={npz}", "data.resolution=16",
                               "model.name=pggan", "model.z_dim=8", "model.g_channels=8", "model.d_channels=8",
                               "train.steps=10", "train.batch_size=8", "train.log_every=5", "train.ckpt_every=5",
                               "train.sample_every=1000", "train.progress=false", "train.tensorboard=false",
                               "train.ema_decay=0.9", "loss.name=wasserstein", "reg.gp=10",
                               "growth.stable_images=16", "growth.fade_images=16", "growth.batch_sizes=[16,8,8]"]},
        "interrupted": {"overrides": mlp(tmp, extra=GP), "sigint_rank1_at": 6},
        "interrupted_at_save": {"overrides": mlp(tmp), "sigint_rank1_at": 5},
        "resumed": {"resume": "interrupted", "overrides": ["train.steps=12"]},
        "diverged": {"overrides": mlp(tmp), "nan_rank1_at": 3},
        "time_limit": {"overrides": mlp(tmp, extra=("train.time_limit=1000",)), "late_rank1_at": 4},
    }


def buffers_of(rank: int) -> torch.nn.Module:
    """A module whose buffers of five dtypes and shapes (a 0-d counter among them) depend on the rank."""
    net = torch.nn.Module()
    values = {"stats": torch.arange(5.0) + rank / 3, "count": torch.tensor(7 + rank),
              "flags": torch.tensor([True, False, bool(rank)]), "f16": torch.full((2, 3), 1.5 + rank).half(),
              "f64": torch.tensor([[1 / 3 + rank]], dtype=torch.float64)}
    for key, value in values.items():
        net.register_buffer(key, value)
    return net


def write_data(tmp: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp / "images8.npz", x=rng.integers(0, 256, size=(256, 8, 8), dtype=np.uint8))
    np.savez(tmp / "images16.npz", x=rng.integers(0, 256, size=(128, 16, 16), dtype=np.uint8))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _watch_writes(root: str, writes: list[str], active: list[bool]) -> None:
    """Record every file this process creates, opens for writing, renames or removes under `root`."""
    def hook(event: str, args: tuple) -> None:
        if not active[0] or event not in ("open", "os.mkdir", "os.rename", "os.remove", "os.rmdir"):
            return
        path = str(args[0]) if args and isinstance(args[0], (str, bytes, os.PathLike)) else ""
        if not path.startswith(root):
            return
        if event == "open":
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if not writing:
                return
        writes.append(f"{event} {path}")

    sys.addaudithook(hook)


def _rank(rank: int, port: int, tmp: str) -> None:
    """One rank: join a 2-process gloo group, run every scenario, save this rank's networks after each."""
    import ganforge.engine.loop as loop
    from ganforge.errors import GanforgeError
    from ganforge.evaluation import training_evaluator

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=RANKS)
    writes, watching = [], [rank != 0]
    _watch_writes(tmp, writes, watching)
    made = []

    class Recorded(loop.Training):  # keeps each run's Training so its final state can be saved
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    loop.Training = Recorded
    plain_step, plain_seconds = Recorded.train_step, loop.ThroughputClock.seconds
    calls = {"run": 0, "steps": 0}  # collectives made from Python (DDP's own gradient all-reduces are not)
    stepping = [False]
    for collective in ("all_reduce", "broadcast", "all_gather"):
        def counted(*args, _plain=getattr(dist, collective), **kwargs):
            calls["run"] += 1
            calls["steps"] += stepping[0]
            return _plain(*args, **kwargs)

        setattr(dist, collective, counted)
    outcomes = {}
    for name, s in scenarios(Path(tmp)).items():
        def step(self, s=s):
            if rank == 1 and self.step == s.get("sigint_rank1_at"):
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C reaching one process
            stepping[0] = True
            try:
                phase = plain_step(self)
            finally:
                stepping[0] = False
            if rank == 1 and self.step == s.get("nan_rank1_at"):
                self.stats.report("loss/d", float("nan"))
            return phase

        Recorded.train_step = step
        calls.update(run=0, steps=0)
        late = s.get("late_rank1_at")
        loop.ThroughputClock.seconds = (plain_seconds if rank == 0 or late is None else
                                        lambda clock: 1e9 if made[-1].step >= late else 0.0)
        try:
            if "resume" in s:
                run = Path(tmp) / s["resume"]
                result = train(resume_config(run, s["overrides"]), resume=run)
            else:
                result = train(make_config({}, s["overrides"]), run_dir=Path(tmp) / name)
            outcomes[name] = {"outcome": "ok", "steps": result.steps}
        except GanforgeError as exc:
            outcomes[name] = {"outcome": type(exc).__name__, "message": str(exc)}
        training = made[-1]
        outcomes[name].update(step=training.step, collectives=dict(calls))
        watching[0] = False
        torch.save({"generator": training.G.state_dict(), "discriminator": training.D.state_dict(),
                    "generator_ema": training.ema.shadow.state_dict()}, Path(tmp) / f"{name}.rank{rank}.pt")
        watching[0] = rank != 0

    # the distributed evaluation of a saved generator, for comparison with one process
    from ganforge.engine.distributed import join, leave
    from ganforge.evaluation import generator_sampler

    world, _, _ = join("cpu")
    G, D, config = grown(Path(tmp))
    vote = world.vote([rank == 1, False])  # in flight through the collectives below, as during a step
    results = training_evaluator(config)(G, D)
    samples = generator_sampler(G, 7, world)(EVAL_N)
    marked = buffers_of(rank)  # each rank's own; settle sends rank 0's
    before_settle = {k: v.clone() for k, v in marked.state_dict().items()}
    world.settle(marked)
    voted = vote.result()
    leave(False)
    watching[0] = False
    torch.save(samples, Path(tmp) / f"samples.rank{rank}.pt")
    torch.save({"before": before_settle, "after": marked.state_dict()}, Path(tmp) / f"settled.rank{rank}.pt")
    (Path(tmp) / f"rank{rank}.json").write_text(json.dumps({"outcomes": outcomes, "writes": writes,
                                                             "evaluation": results, "vote": voted}))
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """The spawned ranks' reports: {rank: {"outcomes", "writes", "evaluation"}}, and the folder."""
    tmp = tmp_path_factory.mktemp("ddp")
    write_data(tmp)
    torch.multiprocessing.spawn(_rank, args=(free_port(), str(tmp)), nprocs=RANKS)
    return {r: json.loads((tmp / f"rank{r}.json").read_text()) for r in range(RANKS)}, tmp


def state(tmp: Path, name: str, rank: int) -> dict:
    return torch.load(tmp / f"{name}.rank{rank}.pt", weights_only=True)


def assert_states(a: dict, b: dict, atol: float = 0.0) -> None:
    for net in ("generator", "discriminator", "generator_ema"):
        assert a[net].keys() == b[net].keys()
        for key in a[net]:
            x, y = a[net][key], b[net][key]
            if atol == 0.0 or not x.is_floating_point():
                assert torch.equal(x, y), f"{net}.{key} differs"
            else:
                assert torch.allclose(x, y, rtol=0, atol=atol), f"{net}.{key} differs by {(x - y).abs().max()}"


@pytest.mark.parametrize("name", ["gp", "unrolled", "bf16", "compiled", "sn_bn", "grow", "resumed"])
def test_every_rank_holds_bit_identical_g_d_and_ema(ranks, name):
    """Weights, batch-norm statistics, spectral norm's u and v, the growing stage: the same on each rank."""
    reports, tmp = ranks
    assert all(reports[r]["outcomes"][name]["outcome"] == "ok" for r in range(RANKS))
    assert_states(state(tmp, name, 0), state(tmp, name, 1))


def test_growing_run_passed_every_stage_on_both_ranks(ranks):
    reports, tmp = ranks
    g = state(tmp, "grow", 1)["generator"]
    assert g["growth.stage"].item() == 2  # 16x16 after 64 images: 16 stable at 4x4, then 16 each fading, stable, fading
    assert load_checkpoint(tmp / "grow")["images_seen"] == 16 + 9 * 8  # one step of 16, then batches of 8


@pytest.mark.parametrize("name, atol", [("gp", 1e-5), ("unrolled", 1e-5), ("compiled", 1e-5),
                                        ("mode_seeking", 1e-5)])
def test_two_ranks_of_half_the_batch_train_as_one_process_of_the_whole(ranks, tmp_path, name, atol):
    """No batch norm: the ranks' slices of each global batch and latent draw are one process's batch, the
    averaged gradients its gradient, through the gradient penalty's double backward, the unrolled
    look-ahead and the mode-seeking term's rank-averaged distances alike, and compiled by torch.compile; only
    float rounding differs."""
    reports, tmp = ranks
    overrides = scenarios(tmp)[name]["overrides"]
    single = train(make_config({}, overrides), run_dir=tmp_path / name)
    assert_states(state(tmp, name, 0), load_checkpoint(single.checkpoint), atol=atol)
    if name == "gp":  # the periodic evaluation sees the same samples (from the same weights, up to rounding)
        logged = [json.loads(line) for line in (tmp / name / "metrics.jsonl").read_text().splitlines()]
        alone = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in logged] == [r["step"] for r in alone] == [6, 12]
        for a, b in zip(logged, alone):
            assert a == pytest.approx(b, rel=1e-4, abs=1e-6)


def test_distributed_evaluation_equals_one_process_on_the_same_samples(ranks):
    """Each rank generates its share of the same latents (151 and 150 of 301); the gathered samples are one
    process's, and rank 0's score of them, which every rank receives, is one process's score."""
    from ganforge.evaluation import generator_sampler, training_evaluator

    reports, tmp = ranks
    G, D, config = grown(tmp)
    alone = generator_sampler(G, 7)(EVAL_N)
    for r in range(RANKS):  # images come rounded to 8 bits: a rounding difference could flip a pixel
        diff = (torch.load(tmp / f"samples.rank{r}.pt") - alone).abs()
        assert diff.max() <= 1 / 127.5 + 1e-6 and (diff > 1e-6).float().mean() < 1e-4
    assert reports[0]["evaluation"] == reports[1]["evaluation"]
    assert reports[0]["evaluation"]["swd"] > 0
    assert reports[0]["evaluation"] == pytest.approx(training_evaluator(config)(G, D), rel=1e-5)


def test_only_rank_0_writes_files(ranks):
    reports, tmp = ranks
    assert reports[1]["writes"] == []
    assert (tmp / "gp" / "checkpoint.pt").is_file() and (tmp / "gp" / "log.jsonl").is_file()


def test_ctrl_c_on_one_rank_stops_both_at_the_same_step_and_resumes_exactly(ranks):
    """SIGINT reached rank 1 alone during step 7: the ranks' vote on it runs while step 8 trains, so both
    ranks finish step 8, rank 0 saves, both raise Interrupted (the step after the request: before the vote
    was lagged, step 7); the run resumed by both ranks ends as the uninterrupted run did, bit for bit."""
    reports, tmp = ranks
    for r in range(RANKS):
        outcome = reports[r]["outcomes"]["interrupted"]
        assert (outcome["outcome"], outcome["step"]) == ("Interrupted", 8)
    def steps(name: str) -> list[int]:
        return [r["step"] for r in map(json.loads, (tmp / "interrupted" / name).read_text().splitlines())]

    assert steps("log.jsonl") == [4, 6, 8, 12]  # the stop's record at 8, then the resumed run's
    assert steps("metrics.jsonl") == [6, 8, 12]  # eval.every=6, the stop, the resumed run's end
    assert reports[0]["outcomes"]["resumed"]["steps"] == 12
    assert_states(load_checkpoint(tmp / "interrupted"), load_checkpoint(tmp / "gp"))


def test_ctrl_c_before_a_checkpoint_stops_at_that_checkpoint(ranks):
    """SIGINT reached rank 1 alone during step 6, which checkpoints (train.ckpt_every=6): the vote is waited
    for before the checkpoint, so both ranks stop there, not a step later."""
    reports, tmp = ranks
    for r in range(RANKS):
        outcome = reports[r]["outcomes"]["interrupted_at_save"]
        assert (outcome["outcome"], outcome["step"]) == ("Interrupted", 6)
    assert load_checkpoint(tmp / "interrupted_at_save")["step"] == 6


def test_a_flag_raised_on_one_rank_reaches_every_rank(ranks):
    """`World.vote` of [rank == 1, False], waited for after an evaluation and a buffer broadcast went
    through the same group: both ranks read [True, False]."""
    reports, _ = ranks
    assert [reports[r]["vote"] for r in range(RANKS)] == [[True, False]] * RANKS


def test_a_nan_on_one_rank_stops_every_rank(ranks):
    """The logged statistics are averaged over the ranks, so rank 1's NaN stops rank 0 at the same flush."""
    reports, _ = ranks
    for r in range(RANKS):
        outcome = reports[r]["outcomes"]["diverged"]
        assert (outcome["outcome"], outcome["step"]) == ("TrainingDiverged", 4)
        assert "loss/d became nan" in outcome["message"]


def test_a_time_limit_reached_on_one_rank_stops_every_rank(ranks):
    """Rank 1's clock alone passes the limit after step 4; the vote on it is read after step 5 (before the
    vote was lagged, both stopped at 4), and both ranks stop there."""
    reports, tmp = ranks
    assert [reports[r]["outcomes"]["time_limit"]["steps"] for r in range(RANKS)] == [5, 5]
    assert load_checkpoint(tmp / "time_limit")["step"] == 5


def test_torchrun_trains_through_the_command_line(tmp_path):
    """`torchrun --nproc_per_node=2 -m ganforge train ...`, as the docs show it; rank 0 alone reports."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(ganforge.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={RANKS}",
               "-m", "ganforge", "train", "toy_ring", *toy_overrides(tmp_path, steps=8), "--out",
               str(tmp_path / "run")]
    try:  # a worker that never exits (as a gloo teardown deadlock once made one) fails here, not in CI's limit
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"torchrun did not exit within 180 s; it printed: {hung.stdout!r}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("trained to step 8") == 1
    assert load_checkpoint(tmp_path / "run")["step"] == 8


def test_a_global_batch_the_ranks_cannot_share_is_refused():
    from ganforge.engine.distributed import World
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train.batch_size \(33\) is the global batch .* 2 processes"):
        World(rank=0, size=2).split(33)
    assert World(rank=1, size=2).split(32) == 16
    assert [World(rank=r, size=3).part(10) for r in range(3)] == [slice(0, 4), slice(4, 7), slice(7, 10)]


def test_sync_bn_on_the_cpu_is_refused_before_anything_is_made(tmp_path):
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match="train.sync_bn needs CUDA"):
        train(make_config({}, [*toy_overrides(tmp_path), "train.device=cpu", "train.sync_bn=true"]),
              run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_share_a_minibatch_stddev_group_cannot_split_is_refused(tmp_path):
    """The global batch of 8 passes the config's check of model.mbstd_group=8; each rank's 4 do not."""
    from ganforge.data import build_dataset
    from ganforge.engine.distributed import World
    from ganforge.engine.training import Training
    from ganforge.errors import ConfigError

    write_data(tmp_path)
    config = make_config({}, [*scenarios(tmp_path)["grow"]["overrides"], "growth.batch_sizes=[8]",
                              "model.mbstd_group=8"])
    with pytest.raises(ConfigError, match="each of the 2 processes .*: model.mbstd_group=8 must divide"):
        Training(config, build_dataset(config.data), torch.device("cpu"), World(rank=0, size=2))


def test_settle_gives_every_rank_rank_0s_buffers_bit_for_bit(ranks):
    """Five dtypes (a 0-d int64 counter, bools, float16 and float64 among them) go as raw bytes in one
    broadcast and arrive bit for bit."""
    _, tmp = ranks
    settled = [torch.load(tmp / f"settled.rank{r}.pt", weights_only=True) for r in range(RANKS)]
    own = [buffers_of(r).state_dict() for r in range(RANKS)]
    assert not torch.equal(own[0]["stats"], own[1]["stats"])
    for r in range(RANKS):
        for key, value in own[0].items():
            after = settled[r]["after"][key]
            assert after.dtype == value.dtype and after.shape == value.shape and torch.equal(after, value), key
            assert torch.equal(settled[r]["before"][key], own[r][key]), key


def test_a_step_makes_no_collective_of_its_own(ranks):
    """Rank 0's buffers are sent when they are read (checkpoints, evaluations: `World.settle`), not after
    every step as before, so inside a step only DDP's gradient all-reduces talk to the other rank. The
    count over the whole run (the stop vote after every step, log records, buffers, evaluation) shows the
    counter is live."""
    reports, _ = ranks
    for r in range(RANKS):
        calls = reports[r]["outcomes"]["sn_bn"]["collectives"]
        assert calls["steps"] == 0
        assert calls["run"] >= 6


def test_an_evaluation_with_batch_norm_reads_rank_0s_statistics_on_every_rank(ranks):
    """Sampling in eval mode reads the batch-norm running statistics, which each rank's steps update from
    its own share of the batch. The evaluation at the last step (every rank generating its share of the
    samples) comes after rank 1 took rank 0's, so it is one process's evaluation of the checkpoint saved
    at that step; with rank 1's own statistics, half of the samples would come from another generator."""
    from ganforge.evaluation import training_evaluator
    from ganforge.generate import load_generator
    from ganforge.models import rebuild

    _, tmp = ranks
    payload = load_checkpoint(tmp / "sn_bn")
    config = make_config(payload["config"])
    G = load_generator(tmp / "sn_bn" / "checkpoint.pt", True)
    logged = [json.loads(line) for line in (tmp / "sn_bn" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == [3, 6]
    alone = training_evaluator(config)(G, rebuild(payload["models"], "discriminator"))
    assert logged[-1]["swd"] == pytest.approx(alone["swd"], rel=1e-4)
