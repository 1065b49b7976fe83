"""Sampling from a trained generator: any checkpoint, no original config needed."""
from __future__ import annotations

import itertools
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from . import viz
from .engine.checkpoint import load_checkpoint, load_state
from .engine.distributed import SINGLE, World
from .errors import GanforgeError, Interrupted
from .latent import interpolation_rows
from .metrics.context import SampleFn
from .models import balanced_labels, class_count, rebuild
from .outputs import check_file, check_sample_output, writing
from .samplefiles import from_uint8, open_writer, to_uint8


def load_generator(checkpoint: str | Path, ema: bool = True, device: str | torch.device = "cpu") -> nn.Module:
    """The generator stored in `checkpoint` (a file or run directory), in eval mode.

    With `ema`, the EMA weights are used when the run kept them, since they give the better samples.
    """
    payload = load_checkpoint(checkpoint)
    G = rebuild(payload["models"], "generator")
    state = payload["generator_ema"] if ema and payload.get("generator_ema") is not None else payload["generator"]
    load_state(G, state, "generator", str(checkpoint))
    return G.to(device).eval().requires_grad_(False)


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 256) -> torch.Tensor:
    """G(z, y) in batches, on G's device, returned on the CPU as float32 (`y`: classes of a conditional G)."""
    device = next(G.parameters()).device
    labels = y.split(batch_size) if y is not None else [None] * len(z.split(batch_size))
    return torch.cat([G(chunk.to(device), None if c is None else c.to(device)).float().cpu()
                      for chunk, c in zip(z.split(batch_size), labels)])


def generator_sampler(G: nn.Module, seed: int, world: World = SINGLE) -> SampleFn:
    """n -> G(z) for a fresh latent draw of a generator seeded once, in eval mode, on G's device.

    A class-conditional G is asked for every class in turn (balanced labels), and the sampler returns the
    labels with the samples so metrics can check them. Images are rounded to 8-bit pixels (`to_uint8`, which
    also clips a linear output such as PGGAN's to [-1, 1]) exactly as `export_samples` writes them, so a
    generator scores what its exported files score. In a distributed run every rank draws the same n
    latents, generates its share of them and receives the others' (a collective: every rank calls it
    alike), so the samples are those one process would make."""
    device = next(G.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    drawn = 0

    @torch.no_grad()
    def sample(n: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        nonlocal drawn
        y = balanced_labels(G, n, start=drawn)
        drawn += n
        was_training = G.training
        G.eval()
        mine = world.part(n)
        z = torch.randn(n, G.z_dim, generator=generator)[mine].to(device)
        out = world.gather(G(z, y[mine].to(device) if y is not None else None).float().cpu())
        if out.dim() == 4:
            out = from_uint8(to_uint8(out))
        G.train(was_training)
        return out if y is None else (out, y)

    return sample


def export_samples(checkpoint: str | Path, out: str | Path, n: int, seed: int = 0, ema: bool = True,
                   batch_size: int = 250, progress: bool = True) -> Path:
    """Write `n` samples as a folder of numbered PNGs (`out` a folder) or an .npz (`out` ending in .npz).

    They are the very images `ganforge eval RUN --n n --seed seed --batch-size batch_size` scores (same
    latents, same balanced classes, same 8-bit rounding); generated and written `batch_size` at a time, so
    memory does not grow with `n`. Either the whole export appears at `out` or, on any failure or an
    interruption, nothing does."""
    if n <= 0 or batch_size <= 0:
        raise GanforgeError(f"--n and --batch-size must be positive, got {n} and {batch_size}")
    if check_sample_output(out) == "picture":
        raise GanforgeError(f"--out {out}: sample files go to a FOLDER/ or a FILE.npz")
    G = load_generator(checkpoint, ema)
    sample = generator_sampler(G, seed)
    chunks = (sample(min(batch_size, n - start)) for start in range(0, n, batch_size))
    first = next(chunks)  # before the progress bar, so a refusal comes alone
    if (first[0] if isinstance(first, tuple) else first).dim() != 4:
        raise GanforgeError("sample files need an image model; this checkpoint holds a toy model")
    writer, done = None, 0
    try:
        with tqdm(total=n, desc="writing samples", unit="img", disable=not progress) as bar:
            for chunk in itertools.chain([first], chunks):
                images, labels = chunk if isinstance(chunk, tuple) else (chunk, None)
                writer = writer or open_writer(out, n, tuple(images.shape[1:]))
                writer.write(to_uint8(images), labels)
                done += len(images)
                bar.update(len(images))
        with writing(out):
            return writer.close()
    except BaseException as exc:
        if writer is not None:
            writer.abort()
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(f"interrupted after {done} of {n} samples; nothing was written to {out} "
                              "(the partial export was removed)") from None
        raise


def latents(G: nn.Module, n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))


def class_labels(G: nn.Module, n: int, class_index: int | None) -> torch.Tensor | None:
    """`n` labels of class `class_index`, or every class in turn when it is None (None if G is unconditional)."""
    classes = class_count(G)
    if class_index is None:
        return balanced_labels(G, n)
    if not classes:
        raise GanforgeError("--class needs a class-conditional generator; this one is unconditional")
    if not 0 <= class_index < classes:
        raise GanforgeError(f"--class must be in 0..{classes - 1}, got {class_index}")
    return torch.full((n,), class_index, dtype=torch.long)


def sample_to_file(checkpoint: str | Path, out: str | Path, n: int = 64, seed: int = 0, ema: bool = True,
                   class_index: int | None = None, class_grid: bool = False) -> Path:
    """Save `n` samples as an image grid (image models) or a scatter/density plot (toy models).

    For a class-conditional G: all of class `class_index`, or with `class_grid` one row per class of `n`
    samples each; otherwise every class in turn."""
    if n <= 0:
        raise GanforgeError(f"--n must be positive, got {n}")
    check_file(out, (".png",))
    G = load_generator(checkpoint, ema)
    if class_grid:
        classes = class_count(G)
        if not classes:
            raise GanforgeError("--class-grid needs a class-conditional generator; this one is unconditional")
        y = torch.arange(classes).repeat_interleave(n)
        return viz.save_image_grid(generate(G, latents(G, len(y), seed), y), Path(out), nrow=n)
    y = class_labels(G, n, class_index)
    return viz.save_samples(generate(G, latents(G, n, seed), y), Path(out))


def interpolate_to_file(checkpoint: str | Path, out: str | Path, rows: int = 8, steps: int = 10,
                        method: str = "slerp", seed: int = 0, ema: bool = True) -> Path:
    """The DCGAN paper's latent walk: each row moves between two random latents in `steps` steps."""
    if rows <= 0 or steps < 2:
        raise GanforgeError(f"need rows >= 1 and steps >= 2, got rows={rows}, steps={steps}")
    check_file(out, (".png",))
    G = load_generator(checkpoint, ema)
    z = latents(G, 2 * rows, seed)
    try:
        path_z = interpolation_rows(z[:rows], z[rows:], steps, method)
    except ValueError as exc:
        raise GanforgeError(str(exc)) from None
    y = balanced_labels(G, rows)  # a conditional G walks within one class per row
    images = generate(G, path_z, y.repeat_interleave(steps) if y is not None else None)
    if images.dim() != 4:
        raise GanforgeError("interpolation pictures need an image model; this checkpoint holds a toy model")
    return viz.save_image_grid(images, Path(out), nrow=steps)
