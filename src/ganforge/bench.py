"""Training and sampling speed of a config on this machine, each speed switch against the default and
against a plain hand-written PyTorch loop of the same networks, all in one run.

Rows are timed in alternating rounds (every row once per round, best round kept) so that background load
affects them alike; only ratios between rows of one run are meaningful on a shared machine. The switch rows
come from the speed-switch tables (`ganforge.speed`): one row per value of each switch, so a new value is
measured without a change here. FLOPs are counted once, on the default row, by torch's FlopCounterMode
(matmuls and convolutions, forward and backward); the achieved rate of every row is that count times its
images/s, set against a ceiling for the precision the row computes in: the best of several large matrix
products on all of torch's threads measured in the same run and, on the CPU, the cores' theoretical float32
rate when it can be read, so that no workload can read above 100%.
"""
from __future__ import annotations

import contextlib
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from . import speed
from .config import RunConfig, make_config, to_dict, value_at
from .data import Dataset, build_dataset
from .engine.distributed import pick_device
from .engine.training import Training
from .errors import GanforgeError
from .models import build_models, uses_labels
from .plain_loop import PlainLoop

# combinations of switches that pay on a device, one row each; the single switches come from the tables
BEST: dict[str, tuple[str, ...]] = {
    "best=bf16+compile": ("train.amp=bf16", "train.channels_last=true", "optim.impl=fused",
                          "train.compile=default"),
    "best=bf16+cudagraphs": ("train.amp=bf16", "train.channels_last=true", "optim.impl=fused",
                             "train.compile=reduce-overhead"),
}
CHANNELS_LAST = "train.channels_last"  # a plain boolean, so it has no table in `speed`
DEFAULT = "default"
PLAIN = "plain loop"
FP32 = "fp32"
TF32 = "tf32"
CPU_SIZES = (256, 512, 1024, 2048, 4096)  # sides of the square products the peak is the best of
CUDA_SIZES = (2048, 4096, 8192)


def switch_rows() -> dict[str, tuple[str, ...]]:
    """Every row `bench` can measure besides the default and the plain loop, name -> its overrides: each
    value of `train.channels_last` and of each speed switch (`speed.SWITCHES`), then the BEST combinations."""
    rows = {f"{CHANNELS_LAST}={v}": (f"{CHANNELS_LAST}={v}",) for v in ("true", "false")}
    rows.update({f"{key}={value}": (f"{key}={value}",)
                 for key, table in speed.SWITCHES.items() for value in table})
    return rows | BEST


def _runs_by_default_on(override: str, device: torch.device) -> bool:
    """Whether a row with this override is measured without `--switch` on `device`: everything on CUDA; on
    other devices what its table entry allows (`speed.Switch.bench_on_cpu`, `cuda_only`)."""
    key, _, value = override.partition("=")
    entry = speed.SWITCHES.get(key, {}).get(value)
    return device.type == "cuda" or entry is None or (entry.bench_on_cpu and not entry.cuda_only)


def default_rows(config: RunConfig, device: torch.device) -> list[str]:
    """The rows measured without `--switch`: those that change `config` and run by default on `device`."""
    def changes(override: str) -> bool:
        key, _, value = override.partition("=")
        current = value_at(config, key)
        return str(current).lower() != value

    return [name for name, overrides in switch_rows().items()
            if any(map(changes, overrides)) and all(_runs_by_default_on(o, device) for o in overrides)]


def precision_of(config: RunConfig) -> str:
    """The precision a config's matmuls and convolutions run in: its `train.amp` value when that autocasts,
    else float32."""
    return config.train.amp if speed.AMP[config.train.amp].dtype else FP32


@dataclass
class Row:
    name: str
    overrides: tuple[str, ...] = ()
    train_images_per_s: float | None = None   # real images shown to D per second
    sample_images_per_s: float | None = None  # G forward passes in eval mode, no gradients
    precision: str = FP32                     # `precision_of` its config: which ceiling it is set against
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
    measured_peaks: dict[str, float] = field(default_factory=dict)  # best matmul FLOP/s by precision
    theoretical_fp32: float | None = None  # the CPU's float32 FLOP/s from cores x clock x FMA width
    peaks: dict[str, float] = field(default_factory=dict)  # the ceiling each precision's rows are set against
    train_flops_per_image: float = 0.0
    sample_flops_per_image: float = 0.0
    rows: list[Row] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**asdict(self), "rows": [asdict(row) | self.derived(row) for row in self.rows]}

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name and r.train_images_per_s), None)

    def derived(self, row: Row) -> dict:
        out: dict = {}
        if not row.train_images_per_s:
            return out
        for name, key in ((DEFAULT, "vs_default"), (PLAIN, "vs_plain")):
            base = self.row(name)
            if base is not None:
                out[key] = row.train_images_per_s / base.train_images_per_s
        rate = row.train_images_per_s * self.train_flops_per_image
        peak = self.peaks.get(row.precision)
        out.update(train_flops_per_s=rate, peak=row.precision, share_of_peak=rate / peak if peak else None)
        return out

    def markdown(self) -> str:
        lines = [f"`{self.config}` on {self.device} (torch {self.torch_version}, {self.threads} threads), "
                 f"batch {self.batch_size}, {self.steps} steps x {self.rounds} rounds (best round), data: "
                 f"{self.data}",
                 "",
                 f"FLOPs per image: training {self.train_flops_per_image / 1e9:.3f} GFLOP, sampling "
                 f"{self.sample_flops_per_image / 1e9:.3f} GFLOP; matmul peaks measured: "
                 + ", ".join(f"{k} {v / 1e12:.3f}" for k, v in self.measured_peaks.items())
                 + (f"; theoretical fp32 {self.theoretical_fp32 / 1e12:.3f}" if self.theoretical_fp32 else "")
                 + "; ceilings (the larger): " + ", ".join(f"{k} {v / 1e12:.3f}" for k, v in self.peaks.items())
                 + " TFLOP/s",
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
            vs_default, vs_plain = (f"{d[key]:.2f}" if key in d else "-" for key in ("vs_default", "vs_plain"))
            lines.append(f"| {row.name} | {row.train_images_per_s:.4g} | {vs_default} | {vs_plain} | {sample} | "
                         f"{d['train_flops_per_s'] / 1e12:.3f} | {share} |")
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


def _dtype(precision: str) -> torch.dtype:
    return torch.float32 if precision in (FP32, TF32) else getattr(torch, speed.AMP[precision].dtype)


def matmul_rate(device: torch.device, precision: str, n: int, repeats: int = 3) -> float:
    """Best FLOP/s of one n x n matrix product over `repeats` (after an untimed one), on all of torch's
    threads; on CUDA timed with CUDA events."""
    dtype = _dtype(precision)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    saved = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if precision == TF32 else "highest")  # float32 in TF32 or not
    try:
        a @ b
        best = float("inf")
        for _ in range(repeats):
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
        torch.set_float32_matmul_precision(saved)
    return 2 * n ** 3 / best


def matmul_peak(device: torch.device, precision: str, budget_s: float = 1.0) -> tuple[float, int]:
    """The best FLOP/s of square products of growing sides, and the side that reached it. A side is tried
    only while one product of it would take at most `budget_s` at the best rate so far: a CPU without
    bfloat16 units multiplies bfloat16 matrices about 100x slower than float32 ones."""
    best, side = 0.0, 0
    for n in CUDA_SIZES if device.type == "cuda" else CPU_SIZES:
        if best and 2 * n ** 3 / best > budget_s:
            break
        rate = matmul_rate(device, precision, n)
        if rate > best:
            best, side = rate, n
    return best, side


class PeakMeter:
    """The matmul peak of each precision (TF32's beside float32's on CUDA): first the best over growing sides
    (`matmul_peak`), then measured again at the best side in every round of the rows, so that the peak gets
    as many chances at a quiet moment of a shared machine as the rows do."""

    def __init__(self, device: torch.device, precisions: set[str]) -> None:
        self.device = device
        wanted = sorted(precisions | {FP32} | ({TF32} if device.type == "cuda" else set()))
        self.best = {p: matmul_peak(device, p) for p in wanted}  # precision -> (FLOP/s, side)

    def remeasure(self) -> None:
        for p, (rate, side) in self.best.items():
            self.best[p] = max(rate, matmul_rate(self.device, p, side)), side

    @property
    def rates(self) -> dict[str, float]:
        return {p: rate for p, (rate, _) in self.best.items()}


def theoretical_fp32(cpuinfo: str, max_mhz: float | None, threads: int) -> float | None:
    """The float32 FLOP/s that `threads` cores of the CPU `cpuinfo` (the text of /proc/cpuinfo) can reach:
    cores x clock x FLOPs per cycle, where FLOPs per cycle = 2 FMA units x lanes (16 with avx512f, 8 with
    avx2 and fma) x 2 (an FMA is a multiply and an add). Two FMA units is what x86 server cores have had since
    Haswell and Zen 2, and the most any has, so the figure is a ceiling. Cores: `threads`, at most the
    physical cores (logical CPUs over `siblings` / `cpu cores`). Clock: `max_mhz`, else the highest `cpu MHz`
    listed. None when the vector flags or the clock cannot be read."""
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    names = set(flags.group(1).split()) if flags else set()
    lanes = 16 if "avx512f" in names else 8 if {"avx2", "fma"} <= names else 0
    listed = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)]
    mhz = max_mhz or max(listed, default=0.0)
    logical = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
    siblings, cores = (int(m.group(1)) if (m := re.search(rf"^{key}\s*:\s*(\d+)", cpuinfo, re.M)) else 0
                       for key in ("siblings", "cpu cores"))  # logical and physical CPUs of one package
    physical = logical * cores // siblings if siblings and cores else logical
    if not (lanes and mhz and physical):
        return None
    return min(threads, physical) * mhz * 1e6 * 2 * lanes * 2


def cpu_theoretical_fp32(threads: int) -> float | None:
    """`theoretical_fp32` of this machine (Linux: /proc/cpuinfo, and the highest clock from cpufreq, the
    figure lscpu shows as max MHz); None where it cannot be read."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    try:  # kHz
        max_mhz = int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1000
    except (OSError, ValueError):
        max_mhz = None
    return theoretical_fp32(cpuinfo, max_mhz, threads)


def ceilings(measured: dict[str, float], theoretical: float | None) -> dict[str, float]:
    """The FLOP/s each precision's rows are set against. float32: the largest of its measured peak, TF32's
    (cuDNN runs float32 convolutions in TF32 by default) and the theoretical figure; a half precision: the
    larger of its own peak and float32's, since autocast leaves part of the work in float32."""
    fp32 = max(measured.get(FP32, 0.0), measured.get(TF32, 0.0), theoretical or 0.0)
    return {FP32: fp32} | {p: max(rate, fp32) for p, rate in measured.items() if p not in (FP32, TF32)}


def bench_data(config: RunConfig) -> tuple[Dataset, str]:
    """The config's dataset when it loads; else random uint8 images of its resolution (speed does not
    depend on pixel values) with its channel count, or 3 channels when the config leaves it to the data."""
    try:
        return build_dataset(config.data), config.data.name
    except GanforgeError as exc:
        channels, side = config.data.channels or 3, config.data.resolution
        classes = 10 if uses_labels(config.model) else 0
        images = torch.randint(0, 256, (4096, channels, side, side), dtype=torch.uint8)
        labels = torch.randint(0, classes, (4096,)) if classes else None
        return Dataset(images, labels, classes, "random"), f"random {channels}x{side}x{side} ({exc})"


class _Trained:
    """One row's state: a `Training` (or the plain loop) and its two timed actions."""

    def __init__(self, step: Callable[[], int], sample: Callable[[], None]) -> None:
        self.step, self.sample = step, sample


def _ganforge_row(config: RunConfig, dataset: Dataset, device: torch.device) -> tuple[_Trained, Training]:
    training = Training(config, dataset, device)
    n = config.train.batch_size

    @torch.no_grad()
    def sample() -> None:
        training.G.eval()
        with training.autocast():
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


def count_flops(fn: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _Unattributed()
    with counter:
        fn()
    return counter.get_total_flops()


def bench(config: RunConfig, label: str = "config", steps: int = 20, rounds: int = 3, warmup: int = 3,
          switches: list[str] | None = None, plain: bool = True,
          log: Callable[[str], None] = lambda line: None) -> BenchResult:
    """Time `config`'s training step and sampling by default, with each row of `switch_rows` named in
    `switches` (default: `default_rows`), and the plain loop; a row that cannot run on this device is kept
    with the reason instead of figures."""
    device = pick_device(config.train.device)
    if config.growth.stable_images:  # a growing model is measured at its final resolution
        config = make_config({**to_dict(config), "growth": {}})
    known = switch_rows()
    names = [s for s in switches if s != DEFAULT] if switches is not None else default_rows(config, device)
    unknown = [s for s in names if s not in known]
    if unknown:
        raise GanforgeError(f"unknown switch {unknown[0]!r}; choose from {', '.join([DEFAULT, *known])}")
    dataset, data_name = bench_data(config)
    result = BenchResult(label, torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                         config.train.batch_size, steps, rounds, data_name, torch.get_num_threads(),
                         torch.__version__)
    live: dict[str, _Trained] = {}
    base = to_dict(config)
    for name in [DEFAULT, *names]:
        overrides = known.get(name, ())
        row = Row(name, overrides)
        result.rows.append(row)
        try:
            row_config = make_config(base, list(overrides))
            row.precision = precision_of(row_config)
            trained, training = _ganforge_row(row_config, dataset, device)
            if name == DEFAULT:
                result.train_flops_per_image = count_flops(trained.step) / (
                    config.train.batch_size * config.train.n_dis)
                with torch.no_grad():
                    training.G.eval()
                    result.sample_flops_per_image = count_flops(
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

    log(f"measuring matmul peaks on {result.device}")
    meter = PeakMeter(device, {row.precision for row in result.rows if row.name in live})

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
        meter.remeasure()
    result.measured_peaks = meter.rates
    result.theoretical_fp32 = cpu_theoretical_fp32(torch.get_num_threads()) if device.type == "cpu" else None
    result.peaks = ceilings(result.measured_peaks, result.theoretical_fp32)
    for name, (train_rate, sample_rate) in best.items():
        if by_name[name].error is None:
            by_name[name].train_images_per_s, by_name[name].sample_images_per_s = train_rate, sample_rate
    return result
