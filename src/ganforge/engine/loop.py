"""The training loop: schedules steps, logging, pictures and checkpoints for one run directory.

A run directory holds `config.yaml` (the resolved config), `log.jsonl` (one record per `log_every` steps),
`samples/step_NNNNNNN.png`, `checkpoint.pt` and, when tensorboard is installed, `tensorboard/`. Nothing is
created until the config, data and models have all been checked, so bad input leaves no half-made run.

Started by torchrun, every rank runs this loop (see `distributed`): rank 0 alone looks at and writes the
run directory and hands a resumed run's checkpoint to the others; logged statistics are averaged over the
ranks; a stop (Ctrl-C or SIGTERM on any rank, `train.time_limit`, divergence) ends every rank at the same
step.
"""
from __future__ import annotations

import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from .. import viz
from ..checks import check_config, config_warnings
from ..config import RunConfig, dump_yaml, load_config, to_dict
from ..data import build_dataset
from ..errors import ConfigError, GanforgeError, GanforgeWarning, Interrupted, TrainingDiverged
from ..models import class_count, discriminator_probability
from ..outputs import CHECKPOINT
from .checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from . import distributed
from .distributed import Vote, World
from .stats import RunLog, append_jsonl, first_non_finite, rewind_jsonl
from .progress import make_progress
from .training import Training

BEST = "best.pt"
METRICS_LOG = "metrics.jsonl"
Evaluator = Callable[[nn.Module, nn.Module], dict[str, float]]  # (G to sample, D) -> results


@dataclass
class RunResult:
    run_dir: Path
    checkpoint: Path
    picture: Path
    steps: int
    images_per_second: float  # real images shown to D per second of training, I/O excluded


def new_run_dir(config: RunConfig, label: str) -> Path:
    base = Path(config.out_dir) / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def save_picture(training: Training, path: Path) -> Path:
    """Image grid of the fixed latents, or for toy data a plot of generated against real points."""
    samples = training.samples()
    title = f"step {training.step}"
    if training.dataset.is_image:
        return viz.save_image_grid(samples, path, nrow=class_count(training.G) or None)
    real = training.dataset.samples[:len(samples)].cpu()
    if samples.shape[1] == 1:
        return viz.save_density_1d(samples, path, real=real, discriminator=discriminator_probability(training.D),
                                   title=title)
    return viz.save_points(samples, path, real=real, title=title)


def save_stage_picture(training: Training, run_dir: Path, stage: int) -> Path:
    """At the end of a growing stage: its sample grid, `samples/stage_RxR.png`, and `growth.png`, every
    finished stage's grid side by side, so the run shows how it grew."""
    resolution = 4 * 2 ** stage
    path = save_picture(training, run_dir / "samples" / f"stage_{resolution}x{resolution}.png")
    stages = sorted(run_dir.glob("samples/stage_*.png"), key=lambda p: int(p.stem.split("_")[1].split("x")[0]))
    viz.join_pictures(stages, run_dir / "growth.png", [p.stem.split("_")[1] for p in stages])
    return path


@dataclass(frozen=True)
class Evaluation:
    """Periodic evaluation during a run: the results to compute and, for `eval.best`, which way each result
    key improves. They come together so no caller can keep `best.pt` by a guessed direction."""

    run: Evaluator
    higher_is_better: Callable[[str], bool]


def train(config: RunConfig, run_dir: str | Path | None = None, label: str = "run",
          resume: str | Path | None = None, progress: bool | None = None,
          evaluation: Evaluation | None = None) -> RunResult:
    """Train a GAN as `config` says, in `run_dir` (default: a new dated folder under `config.out_dir`).

    With `resume` (a run directory), continue from its checkpoint up to `config.train.steps`. With an
    `evaluation`, results every `config.eval.every` steps go to `metrics.jsonl`, and when `config.eval.best`
    names a result key, `best.pt` keeps the checkpoint where it was best. Callers wanting `config.eval`
    honoured use `ganforge.runner.train`, which builds the evaluation from the config.
    """
    check_config(config)  # before joining a process group: a refused config costs nothing
    world, device, joined = distributed.join(config.train.device)
    try:
        if world.writer:
            for message in config_warnings(config):
                warnings.warn(message, GanforgeWarning, stacklevel=2)
        run_dir, state = _agreed(world, lambda: _start(config, run_dir, label, resume))
        training = Training(config, build_dataset(config.data), device, world)
        if state is not None:
            training.load_state_dict(state, str(run_dir))
            if training.step >= config.train.steps:
                raise ConfigError(f"{run_dir} is already at step {training.step}; pass train.steps=N with N > "
                                  f"{training.step} to continue it")
        if world.writer:
            (run_dir / "samples").mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(dump_yaml(config))
        show = (config.train.progress if progress is None else progress) and world.writer
        return _Run(training, run_dir, show, evaluation, world).run()
    finally:
        distributed.leave(joined)


def _start(config: RunConfig, run_dir: str | Path | None, label: str,
           resume: str | Path | None) -> tuple[Path, dict | None]:
    """The run directory and, when resuming, its checkpoint; refuses a directory that holds another run."""
    if resume is not None:
        return Path(resume), load_checkpoint(resolve_checkpoint(resume))
    if run_dir is not None and (Path(run_dir) / CHECKPOINT).exists():
        raise ConfigError(f"{run_dir} already holds a run; continue it with `ganforge train --resume {run_dir}` "
                          f"or choose another --out")
    return (Path(run_dir) if run_dir is not None else new_run_dir(config, label)), None


def _agreed(world: World, decide: Callable):
    """`decide()` as rank 0 finds it (it alone looks at the run directory), on every rank: its value, or
    the same error raised everywhere."""
    if not world.active:
        return decide()
    answer = None
    if world.writer:
        try:
            answer = decide()
        except GanforgeError as exc:
            answer = exc
    answer = world.broadcast(answer)
    if isinstance(answer, GanforgeError):
        raise answer
    return answer


class ThroughputClock:
    """Wall time of a run and its speed in real images per second, with the time spent writing files
    (pictures, evaluations, checkpoints: everything inside `paused`) left out of the speed."""

    def __init__(self, time_before: float) -> None:
        self.time_before = time_before  # seconds of earlier sessions of a resumed run
        self.start = self.interval_start = time.perf_counter()
        self.images = self.interval_images = self.interval_steps = 0
        self.io = self.interval_io = 0.0

    def count(self, images: int) -> None:
        self.images += images
        self.interval_images += images
        self.interval_steps += 1

    @contextmanager
    def paused(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.io += seconds
            self.interval_io += seconds

    def seconds(self) -> float:
        """Wall seconds of this session, files included (what `train.time_limit` limits)."""
        return time.perf_counter() - self.start

    def interval(self) -> dict[str, float]:
        """`time` (seconds since the run began, over all sessions) and `images_per_second` since the last
        call; starts the next interval."""
        now = time.perf_counter()
        busy = now - self.interval_start - self.interval_io
        record = {"time": self.time_before + now - self.start,
                  "images_per_second": self.interval_images / max(busy, 1e-9)}
        self.interval_start, self.interval_images, self.interval_steps, self.interval_io = now, 0, 0, 0.0
        return record

    def images_per_second(self) -> float:
        """Over the whole session, files excluded."""
        return self.images / max(self.seconds() - self.io, 1e-9)


class DivergenceGuard:
    """Stops a run whose logged statistics or weights are no longer finite, naming what went bad and the last
    good checkpoint (which is kept: the bad state is never saved)."""

    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = checkpoint

    def check(self, record: dict[str, float], training: Training) -> None:
        bad = first_non_finite(record)
        if bad is None and _weights_finite(training):
            return
        what = f"{bad} became {record[bad]}" if bad else "a weight became NaN or infinite"
        kept = f"last good checkpoint {self.checkpoint}" if self.checkpoint.exists() else "no checkpoint"
        raise TrainingDiverged(f"training diverged by step {training.step}: {what}; {kept} is kept")


def _weights_finite(training: Training) -> bool:
    return all(torch.isfinite(p).all() for p in training.G.parameters()) and all(
        torch.isfinite(p).all() for p in training.D.parameters())


class _Run:
    """One session of a run: steps, and after each the maintenance its step number asks for.

    `writer` is the one place deciding whether this process writes files (rank 0 of a distributed run),
    and `_stop` the one place deciding that the run stops early (where the ranks of a distributed run
    agree). Distributed, Ctrl-C and SIGTERM only ask for a stop: the ranks finish a step together, save,
    and all raise `Interrupted`, rather than one rank leaving the others waiting in a collective.
    """

    def __init__(self, training: Training, run_dir: Path, show_progress: bool, evaluation: Evaluation | None,
                 world: World = distributed.SINGLE) -> None:
        self.training, self.run_dir, self.evaluation, self.world = training, run_dir, evaluation, world
        self.writer = world.writer
        self.cfg = training.config.train
        self.checkpoint = run_dir / CHECKPOINT
        self.picture = run_dir / "samples" / f"step_{training.step:07d}.png"
        self.log = RunLog(run_dir, self.cfg.tensorboard and self.writer)
        earlier = []
        if self.writer:
            earlier = rewind_jsonl(self.log.path, training.step)
            rewind_jsonl(run_dir / METRICS_LOG, training.step)
        self.clock = ThroughputClock(world.broadcast(earlier[-1].get("time", 0.0) if earlier else 0.0))
        self.guard = DivergenceGuard(self.checkpoint)
        self.progress = make_progress(self.cfg.steps, training.step, show_progress)
        self.requested = False  # this rank of a distributed run got SIGINT or SIGTERM
        self.interrupted = False  # the ranks agreed to stop on such a request
        self.vote: Vote | None = None  # the ranks' vote on the last step's stop flags, still in flight

    def run(self) -> RunResult:
        training = self.training
        try:
            with self._stop_requests():
                while training.step < self.cfg.steps:
                    stage = training.growth[0]
                    self.clock.count(training.train_step().images)
                    self.progress.update()
                    stop = self._stop(self._scheduled(training.step))
                    self._maintain(stage, last=stop or training.step == self.cfg.steps)
                    if stop:
                        break
            if self.interrupted:  # the last step's checkpoint is saved already
                raise self._interrupted()
        except KeyboardInterrupt:
            if self.clock.interval_steps:
                self._flush()
            self.training.refresh_sampler()
            self._save_checkpoint()
            raise self._interrupted() from None
        finally:
            if self.vote is not None:  # a run ended by an error on every rank (divergence): the vote they all
                self.vote.result()     # started is waited for, so no tensor of it outlives its handle
            self.progress.close()
            self.log.close()
        return RunResult(self.run_dir, self.checkpoint, self.picture, training.step,
                         self.clock.images_per_second())

    def _interrupted(self) -> Interrupted:
        return Interrupted(f"interrupted at step {self.training.step}; checkpoint saved, continue with "
                           f"`ganforge train --resume {self.run_dir}`")

    def _stop(self, scheduled: bool) -> bool:
        """Whether the run ends after this step, before `train.steps`: `train.time_limit` has passed or,
        distributed, a stop was asked for; on every rank when on any.

        Distributed, the ranks agree by an all-reduce of their flags that runs while the next step trains,
        and act on it after that step, so that no step waits for the vote: a stop lands one step later than
        it was asked for, on the same step on every rank. After a step that evaluates, checkpoints or ends
        the run (`scheduled`), its vote is waited for at once, before the evaluation or checkpoint, so a
        stop asked for during that step ends the run there."""
        out_of_time = self.cfg.time_limit > 0 and self.clock.seconds() >= self.cfg.time_limit
        if not self.world.active:
            return out_of_time
        if self.vote is not None:  # the flags of the step before this one
            self.interrupted, out_of_time_before = self.vote.result()
            self.vote = None
            if self.interrupted or out_of_time_before:
                return True
        self.vote = self.world.vote([self.requested, out_of_time])
        if not scheduled:
            return False
        self.interrupted, out_of_time = self.vote.result()
        self.vote = None
        return self.interrupted or out_of_time

    def _scheduled(self, step: int) -> bool:
        """Whether `step` evaluates or checkpoints as its intervals ask, or is the last of the run."""
        return step % self.cfg.ckpt_every == 0 or step == self.cfg.steps or self._evaluates(step)

    def _evaluates(self, step: int) -> bool:
        """Whether `step` runs the periodic evaluation (`eval.every`; the end of a run evaluates as well)."""
        every = self.training.config.eval.every
        return self.evaluation is not None and bool(every) and step % every == 0

    @contextmanager
    def _stop_requests(self) -> Iterator[None]:
        """Distributed: SIGINT and SIGTERM (Ctrl-C, torchrun or a scheduler ending the job) set
        `requested`, which `_stop` shares, instead of raising inside a collective."""
        if not self.world.active or threading.current_thread() is not threading.main_thread():
            yield
            return
        def request(signum, frame) -> None:
            self.requested = True

        previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _maintain(self, stage: int, last: bool) -> None:
        """The once-per-step bookkeeping: log, pictures, evaluation and checkpoint as their intervals (or the
        end of the run, or of a growing stage) ask. Only logging counts towards the measured speed."""
        cfg, step = self.cfg, self.training.step
        save = step % cfg.ckpt_every == 0 or last
        if step % cfg.log_every == 0 or save:
            self._flush()
        picture = step % cfg.sample_every == 0 or last
        evaluate = self.evaluation is not None and (last or self._evaluates(step))
        with self.clock.paused():
            if picture or evaluate or save:  # each reads the EMA generator
                self.training.refresh_sampler()
            if picture:
                self.picture = self._write_picture(self.run_dir / "samples" / f"step_{step:07d}.png")
            if self.training.schedule is not None and (last or self.training.growth[0] != stage):
                if self.writer:
                    save_stage_picture(self.training, self.run_dir, stage)
            if evaluate:
                self._evaluate()
            if save:
                self._save_checkpoint()

    def _flush(self) -> None:
        """Average the statistics reported since the last flush into one log record, and stop on divergence."""
        training = self.training
        training.report_state()
        record = self.world.mean(training.stats.collect())
        if record.get("loss/g"):  # balance of the two players (Goodfellow 2016, section 5.1)
            record["loss/d_over_g"] = record["loss/d"] / record["loss/g"]
        record.update(step=training.step, **self.clock.interval())
        if self.writer:
            self.log.write(record)
        self.guard.check(record, training)
        self.progress.show({"d": f"{record.get('loss/d', float('nan')):.3f}",
                            "g": f"{record.get('loss/g', float('nan')):.3f}"})

    def _write_picture(self, path: Path) -> Path:
        return save_picture(self.training, path) if self.writer else path

    def _save_checkpoint(self) -> None:
        self._settle()
        if self.writer:
            save_checkpoint(self.checkpoint, _payload(self.training))

    def _settle(self) -> None:
        """Distributed: every rank takes rank 0's buffers (batch-norm running statistics), which the steps
        leave rank-local, before they are read or saved; the EMA generator's are copies of G's."""
        self.world.settle(self.training.G, self.training.D, self.training.sampler)

    def _evaluate(self) -> None:
        """Run the evaluation, log its results, and keep `best.pt` when `eval.best` improved."""
        training, evaluation = self.training, self.evaluation
        self._settle()  # every rank generates its share of the samples
        results = evaluation.run(training.sampler, training.D)
        if self.writer:
            append_jsonl(self.run_dir / METRICS_LOG, {"step": training.step, **results})
        key = training.config.eval.best
        if not key:
            return
        if key not in results:
            raise ConfigError(f"eval.best is {key!r}, but the evaluation gave only {', '.join(results)}")
        value, old = results[key], training.best
        higher = evaluation.higher_is_better(key)
        if old is None or (value > old["value"] if higher else value < old["value"]):
            training.best = {"key": key, "value": value, "step": training.step}
            if self.writer:
                save_checkpoint(self.run_dir / BEST, _payload(training))


def _payload(training: Training) -> dict:
    data = training.dataset
    return {
        **training.state_dict(),
        "config": to_dict(training.config),
        "data": {"name": data.name, "sample_shape": list(data.sample_shape), "num_classes": data.num_classes},
    }


def resume_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """The config a run was started with, plus `overrides` (typically a larger `train.steps`)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a ganforge run directory (no config.yaml)")
    return load_config(path, overrides)
