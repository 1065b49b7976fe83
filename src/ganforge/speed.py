"""The speed switches, one table each: what every value of `train.amp`, `train.compile` and `optim.impl`
means. The config validates against these tables, the engine acts on them, and `ganforge bench` builds its
rows from them, so a new value is one entry here.

Plain data only (no torch): the config layer reads it without loading torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Switch:
    """One value of a speed switch."""

    doc: str
    cuda_only: bool = False   # refused on other devices (e.g. CUDA graphs)
    bench_on_cpu: bool = True  # measured by `ganforge bench` on the CPU by default (fp16 ran at 0.05x float32
                               # on a 2-core CPU, docs/speed.md; `--switch` still measures it)


@dataclass(frozen=True)
class Precision(Switch):
    dtype: str | None = None  # torch dtype name autocast runs in; None: no autocast
    scaled: bool = False      # gradients need a loss scale (float16's range is too small without one)


@dataclass(frozen=True)
class CompileMode(Switch):
    mode: str | None = None   # torch.compile's `mode`; None: torch's default
    compiled: bool = True
    cudagraphs: bool = False  # outputs live in CUDA-graph memory: each step must be marked


@dataclass(frozen=True)
class AdamImpl(Switch):
    flags: dict = field(default_factory=dict)  # torch.optim.Adam's implementation keywords


AMP: dict[str, Precision] = {
    "none": Precision("float32, no autocast"),
    "bf16": Precision("autocast to bfloat16", dtype="bfloat16"),
    "fp16": Precision("autocast to float16 with a gradient scaler per player", dtype="float16", scaled=True,
                      bench_on_cpu=False),
}
COMPILE: dict[str, CompileMode] = {
    "none": CompileMode("eager", compiled=False),
    "default": CompileMode("torch.compile, default mode"),
    "max-autotune-no-cudagraphs": CompileMode("torch.compile, autotuned kernels without CUDA graphs",
                                              mode="max-autotune-no-cudagraphs"),
    "reduce-overhead": CompileMode("torch.compile with CUDA graphs", mode="reduce-overhead", cudagraphs=True,
                                   cuda_only=True, bench_on_cpu=False),
}
ADAM: dict[str, AdamImpl] = {
    "auto": AdamImpl("torch's choice (foreach on CUDA)"),
    "loop": AdamImpl("a Python loop over parameters", flags={"foreach": False}),
    "foreach": AdamImpl("multi-tensor kernels", flags={"foreach": True}),
    "fused": AdamImpl("one fused kernel", flags={"fused": True}),
}

# config key -> its table; `train.channels_last` is a plain boolean and needs none
SWITCHES: dict[str, dict[str, Switch]] = {"train.amp": AMP, "train.compile": COMPILE, "optim.impl": ADAM}
