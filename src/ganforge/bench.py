"""Training and sampling speed of a config on this machine, each speed switch against the default and
against a plain hand-written PyTorch loop of the same networks, all in one run.

Rows are timed in alternating rounds (every row once per round, best round kept) so that background load
affects them alike; only ratios between rows of one run are meaningful on a shared machine. FLOPs are
counted once, on the default row in eager float32, by torch's FlopCounterMode (matmuls and convolutions,
forward and backward); the achieved rate of every row is that count times its images/s, set against a
matrix-multiply peak measured in the same run at the precision the row computes in.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import RunConfig, make_config, to_dict
from .data import Dataset, build_dataset
from .engine.distributed import pick_device
from .engine.training import Training
from .errors import GanforgeError
from .models import build_models
from .plain_loop import PlainLoop

# switch name -> the overrides that turn it on; "best" rows combine the ones that pay on that device
SWITCHES: dict[str, tuple[str, ...]] = {
    "channels_last": ("train.channels_last=true",),
    "adam=foreach": ("optim.impl=foreach",),
    "adam=fused": ("optim.impl=fused",),
    "bf16": ("train.amp=bf16",),
    "fp16": ("train.amp=fp16",),
    "compile": ("train.compile=default",),
    "compile=max-autotune": ("train.compile=max-autotune-no-cudagraphs",),
    "compile=cudagraphs": ("train.compile=reduce-overhead",),
    "best=bf16+compile": ("train.amp=bf16", "train.channels_last=true", "optim.impl=fused",
                          "train.compile=default"),
    "best=bf16+cudagraphs": ("train.amp=bf16", "train.channels_last=true", "optim.impl=fused",
                             "train.compile=reduce-overhead"),
}
# left out of the CPU's default list: CUDA graphs do not exist there, and float16 ran at 0.05x float32 on
# this project's 2-core CPU (docs/speed.md); `--switch fp16` still measures it
GPU_ONLY = ("fp16", "compile=cudagraphs", "best=bf16+cudagraphs")
DEFAULT = "default"
PLAIN = "plain loop"


@dataclass
class Row:
    name: str
    overrides: tuple[str, ...] = ()
    train_images_per_s: float | None = None   # real images shown to D per second
    sample_images_per_s: float | None = None  # G forward passes in eval mode, no gradients
    precision: str = "fp32"
    error: str | None = None                  # why the row has no figures (refused, or failed)


@dataclass
class BenchResult:
    config: str
    device: str
    batch_size: int
    steps: int
    rounds: int
    data: str
    threads: int
    torch_version: str
    peaks: dict[str, float] = field(default_factory=dict)   # matmul FLOP/s by precision
    train_flops_per_image: float = 0.0
    sample_flops_per_image: float = 0.0
    rows: list[Row] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**asdict(self), "rows": [asdict(row) | self.derived(row) for row in self.rows]}

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name and r.train_images_per_s), None)

    def peak_for(self, row: Row) -> tuple[str, float]:
        """The peak a row is compared with: bf16 for half precision; else TF32 on CUDA (cuDNN runs float32
        convolutions in TF32 by default) or float32."""
        key = "bf16" if row.precision in ("bf16", "fp16") else ("tf32" if "tf32" in self.peaks else "fp32")
        return key, self.peaks.get(key, 0.0)

    def derived(self, row: Row) -> dict:
        out: dict = {}
        if not row.train_images_per_s:
            return out
        for name, key in ((DEFAULT, "vs_default"), (PLAIN, "vs_plain")):
            base = self.row(name)
            if base is not None:
                out[key] = row.train_images_per_s / base.train_images_per_s
        rate = row.train_images_per_s * self.train_flops_per_image
        peak_key, peak = self.peak_for(row)
        out.update(train_flops_per_s=rate, peak=peak_key, share_of_peak=rate / peak if peak else None)
        return out

    def markdown(self) -> str:
        lines = [f"`{self.config}` on {self.device} (torch {self.torch_version}, {self.threads} threads), "
                 f"batch {self.batch_size}, {self.steps} steps x {self.rounds} rounds (best round), data: "
                 f"{self.data}",
                 "",
                 f"FLOPs per image: training {self.train_flops_per_image / 1e9:.3f} GFLOP, sampling "
                 f"{self.sample_flops_per_image / 1e9:.3f} GFLOP; matmul peaks: "
                 + ", ".join(f"{k} {v / 1e12:.2f} TFLOP/s" for k, v in self.peaks.items()),
                 "",
                 "| switch | train images/s | x default | x plain loop | sample images/s | achieved TFLOP/s "
                 "| share of peak |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in self.rows:
            if not row.train_images_per_s:
                lines.append(f"| {row.name} | {row.error} | | | | | |")
                continue
            d = self.derived(row)
            sample = f"{row.sample_images_per_s:.4g}" if row.sample_images_per_s else "-"
            share = f"{d['share_of_peak']:.1%} of {d['peak']}" if d.get("share_of_peak") else "-"
            lines.append(f"| {row.name} | {row.train_images_per_s:.4g} | {d.get('vs_default', 0):.2f} | "
                         f"{d.get('vs_plain', 0):.2f} | {sample} | {d['train_flops_per_s'] / 1e12:.3f} | {share} |")
        return "\n".join(lines)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(fn: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Wall-clock seconds of `repeats` calls, the device's queue drained before and after."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return time.perf_counter() - start


def matmul_peak(device: torch.device, dtype: torch.dtype, tf32: bool = False) -> float:
    """Best FLOP/s of a square matrix product (8192 on CUDA, timed with CUDA events; 1024 on the CPU)."""
    n = 8192 if device.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")  # float32 matmuls in TF32 or not
    try:
        a @ b
        best = float("inf")
        for _ in range(10):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                a @ b
                end.record()
                end.synchronize()
                best = min(best, start.elapsed_time(end) / 1000)
            else:
                best = min(best, _seconds(lambda: a @ b, 1, device))
    finally:
        torch.set_float32_matmul_precision(precision)
    return 2 * n ** 3 / best


def measure_peaks(device: torch.device) -> dict[str, float]:
    if device.type == "cuda":
        return {"bf16": matmul_peak(device, torch.bfloat16), "tf32": matmul_peak(device, torch.float32, True),
                "fp32": matmul_peak(device, torch.float32)}
    return {"fp32": matmul_peak(device, torch.float32), "bf16": matmul_peak(device, torch.bfloat16)}


def bench_data(config: RunConfig) -> tuple[Dataset, str]:
    """The config's dataset when it loads; else random uint8 images of its resolution (speed does not
    depend on pixel values) with its channel count, or 3 channels when the config leaves it to the data."""
    try:
        return build_dataset(config.data), config.data.name
    except GanforgeError as exc:
        channels, side = config.data.channels or 3, config.data.resolution
        classes = 10 if config.model.g_label != "none" or config.model.d_label != "none" else 0
        images = torch.randint(0, 256, (4096, channels, side, side), dtype=torch.uint8)
        labels = torch.randint(0, classes, (4096,)) if classes else None
        return Dataset(images, labels, classes, "random"), f"random {channels}x{side}x{side} ({exc})"


class _Trained:
    """One row's state: a `Training` (or the plain loop) and its two timed actions."""

    def __init__(self, step: Callable[[], int], sample: Callable[[], None]) -> None:
        self.step, self.sample = step, sample


def _ganforge_row(config: RunConfig, dataset: Dataset, device: torch.device) -> tuple[_Trained, Training]:
    training = Training(config, Dataset(dataset.samples, dataset.labels, dataset.num_classes, dataset.name),
                        device)
    n = config.train.batch_size
    autocast = training._autocast

    @torch.no_grad()
    def sample() -> None:
        training.G.eval()
        with autocast():
            training.fast_G(training.sample_z(n), training.sample_y(n))
        training.G.train()

    return _Trained(lambda: training.train_step().images, sample), training


def _plain_row(config: RunConfig, dataset: Dataset, device: torch.device) -> _Trained:
    torch.manual_seed(config.seed)
    G, D, _ = build_models(config.model, dataset.sample_shape, 0)
    G, D = G.to(device), D.to(device)
    adam = config.optim.g
    z_dim, n = G.z_dim, config.train.batch_size
    loop = PlainLoop(G, D, lambda k: torch.randn(k, z_dim, device=device), config.train.n_dis,
                     config.reg.gp, adam.lr, (adam.beta1, adam.beta2))
    samples = dataset.samples.to(device)

    def step() -> int:
        index = torch.randint(len(samples), (n,), device=device)
        loop.step(samples[index].float().div_(127.5).sub_(1.0))
        return n * loop.n_dis

    return _Trained(step, lambda: loop.sample(n))


class _Unattributed(contextlib.nullcontext):
    """Stands in for FlopCounterMode's per-module attribution, whose hooks fail inside `autograd.grad` (a
    gradient penalty); the total needs none of it."""

    parents = {"Global"}


def _count_flops(fn: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _Unattributed()
    with counter:
        fn()
    return counter.get_total_flops()


def bench(config: RunConfig, label: str = "config", steps: int = 20, rounds: int = 3, warmup: int = 3,
          switches: list[str] | None = None, plain: bool = True,
          log: Callable[[str], None] = lambda line: None) -> BenchResult:
    """Time `config`'s training step and sampling by default, with each switch in `switches` (default: all
    of `SWITCHES`, those in `GPU_ONLY` only on CUDA), and the plain loop; a row a switch cannot run on this
    device is kept with the reason instead of figures."""
    device = pick_device(config.train.device)
    if config.growth.stable_images:  # a growing model is measured at its final resolution
        config = make_config({**to_dict(config), "growth": {}})
    names = [s for s in switches if s != DEFAULT] if switches is not None else [
        s for s in SWITCHES if device.type == "cuda" or s not in GPU_ONLY]
    unknown = [s for s in names if s not in SWITCHES]
    if unknown:
        raise GanforgeError(f"unknown switch {unknown[0]!r}; choose from {', '.join(SWITCHES)}")
    dataset, data_name = bench_data(config)
    result = BenchResult(label, torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                         config.train.batch_size, steps, rounds, data_name, torch.get_num_threads(),
                         torch.__version__)
    log(f"measuring matmul peaks on {result.device}")
    result.peaks = measure_peaks(device)

    live: dict[str, _Trained] = {}
    base = to_dict(config)
    for name in [DEFAULT, *names]:
        overrides = SWITCHES.get(name, ())
        row = Row(name, overrides)
        result.rows.append(row)
        try:
            row_config = make_config(base, list(overrides))
            row.precision = {"none": "fp32"}.get(row_config.train.amp, row_config.train.amp)
            trained, training = _ganforge_row(row_config, dataset, device)
            if name == DEFAULT:
                result.train_flops_per_image = _count_flops(trained.step) / (
                    config.train.batch_size * config.train.n_dis)
                with torch.no_grad():
                    training.G.eval()
                    result.sample_flops_per_image = _count_flops(
                        lambda: training.G(training.sample_z(config.train.batch_size),
                                           training.sample_y(config.train.batch_size))) / config.train.batch_size
                    training.G.train()
            log(f"warming up {name}")
            _seconds(trained.step, warmup, device)
            _seconds(trained.sample, 2, device)
            live[name] = trained
        except Exception as exc:  # noqa: BLE001  (a row that cannot run is reported, the others still run)
            row.error = f"{'refused' if isinstance(exc, GanforgeError) else 'failed'}: {exc}".splitlines()[0]
            log(f"{name}: {row.error}")
    if plain:
        row = Row(PLAIN)
        result.rows.append(row)
        try:
            live[PLAIN] = _plain_row(config, dataset, device)
            _seconds(live[PLAIN].step, warmup, device)
        except Exception as exc:  # noqa: BLE001
            row.error = f"failed: {exc}".splitlines()[0]

    by_name = {row.name: row for row in result.rows}
    best: dict[str, tuple[float, float]] = {}
    for r in range(rounds):
        log(f"round {r + 1} of {rounds}")
        for name, trained in list(live.items()):
            try:
                images = 0

                def step() -> None:
                    nonlocal images
                    images += trained.step()

                train_s = _seconds(step, steps, device)
                sample_s = _seconds(trained.sample, steps, device)
            except Exception as exc:  # noqa: BLE001
                by_name[name].error = f"failed: {exc}".splitlines()[0]
                del live[name]
                continue
            n = config.train.batch_size
            old = best.get(name, (0.0, 0.0))
            best[name] = (max(old[0], images / train_s), max(old[1], steps * n / sample_s))
    for name, (train_rate, sample_rate) in best.items():
        if by_name[name].error is None:
            by_name[name].train_images_per_s, by_name[name].sample_images_per_s = train_rate, sample_rate
    return result
