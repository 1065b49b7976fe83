"""Small-data training with augmentation before D: Zhao et al. 2020 (DiffAugment: StyleGAN2 on 10% of
CIFAR-10 goes from FID 36.0 to 14.5 with colour, translation and cutout on real and generated images alike,
and the 100-shot sets improve as much) and Karras et al. 2020 (ADA: the probability p of augmenting is
steered by D's overfitting, r_t = E[sign D(real)] towards 0.6, p moving by at most 1 per 500k images).

Three variants at equal G steps, 3 seeds, on two small sets: no augmentation; DiffAugment
(`data.augment=color,translation,cutout`, p = 1); and the same ops under ADA's adaptive p
(`data.augment_p=adaptive`). The sets: (a) elpv (the optional elpv-dataset package: 2,362 greyscale solar-cell
images to train on at 64x64, 262 held out), trained from .npz copies written into the output folder; skipped,
with the reason in the result, when the package is absent; (b) Fashion-MNIST with `data.fraction=0.1` (6,000
of its 60,000 training images, the same draw for every run), 32x32.

The network is the DCGAN (`dcgan_fashion`, narrowed) on both sets rather than the r3gan family: ADA reads
sign D(real) as D's verdict that an image is real, which holds for the non-saturating loss ADA used (and the
DCGAN's), whereas RpGAN's loss sees only D(real) - D(fake), so the sign of D(real) alone is arbitrary and r_t
would not measure overfitting; the DCGAN is also the cheaper of the two at 64x64 on a CPU.

Scoring is against images the runs never trained on: each run's generator draws as many samples as the
held-out set scored (all 262 elpv test images; a seeded draw of Fashion-MNIST's test split) and gets SWD
(mean over its Laplacian-pyramid levels), improved precision and recall (k = 3) on the Fashion-MNIST
classifier's features (the only trained feature network offline; on elpv they are generic conv features),
and on Fashion-MNIST the Frechet distance of those features (`fd_fmnist`). The adaptive runs' final p is read
from their checkpoints; `log.jsonl` holds p over training (`augment/p`).

Criterion, written before any full run (DiffAugment's claim): on every set that ran, DiffAugment's mean
primary score (elpv: SWD; Fashion-MNIST: fd_fmnist) is below no augmentation's by more than the standard error
of the difference of the two means. The adaptive variant is reported beside it without a verdict.

Protocols: the CPU's fits about 30 minutes of the loaded 2-core machine on one thread, less on 2 idle
cores: 18 runs of 500 steps at batch 32 and their scoring. Measured there (one run of each augmented variant
at 400 steps): elpv at width 16 trains in 83-90 s and scores in 3 s; Fashion-MNIST at width 32 trains in
51-60 s and scores 2,000 samples in 19 s (5,000 took 48 s, two thirds of it SWD, for the same fd_fmnist to
within 1%). With CUDA the preset's width 64 and batch 64 for 2,000 steps, 10,000 samples. The quick protocol
(tiny networks, 4 steps, 2 seeds, elpv at 16x16) checks the pipeline and claims nothing.
"""
from __future__ import annotations

import json
import math
import shutil
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from ..ablation import Job, Summary, Variant, plan, save_comparison_picture, save_summary, summarise, train_guarded
from ..augment import ADA_INTERVAL, ADA_RAMP_IMAGES, ADA_TARGET
from ..config import DataConfig
from ..data import build_dataset
from ..data.elpv import write_elpv_npz
from ..engine.checkpoint import load_checkpoint
from ..errors import DataError
from ..fileio import atomic_path
from ..generate import generator_sampler, load_generator
from ..metrics.classifier import classify
from ..metrics.context import draw
from ..metrics.frechet import frechet_distance_from_features
from ..metrics.prdc import precision_recall
from ..metrics.suite import SWD_MIN_SIDE
from ..metrics.swd import sliced_wasserstein
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Row, Setting, amount, register_repro
from .common import QUIET, bundled, grid_rows

PRESET = "dcgan_fashion"
ZHAO, KARRAS = "Zhao et al. 2020", "Karras et al. 2020"
README = "the authors' DiffAugment-stylegan2 README (mit-han-lab/data-efficient-gans)"
ADA_CODE = "the authors' code (NVlabs/stylegan2-ada-pytorch), train.py and training_loop.py"
POLICY = "color,translation,cutout"
NONE, DIFFAUGMENT, ADAPTIVE_P = "no augmentation", "DiffAugment", "adaptive p"
VARIANTS = (Variant(NONE, ()), Variant(DIFFAUGMENT, (f"data.augment={POLICY}", "data.augment_p=1")),
            Variant(ADAPTIVE_P, (f"data.augment={POLICY}", "data.augment_p=adaptive")))
ELPV, FASHION = "elpv", "fashion"
TITLES = {ELPV: "elpv", FASHION: "Fashion-MNIST 10%"}
PRIMARY = {ELPV: "swd", FASHION: "fd_fmnist"}     # the criterion's score on each set: lower is better
FRACTION = 0.1
PAPER_IMAGES = 300_000                            # the released code's default length of a 100-shot run
PAPER_BATCH = 16                                  # the released 100-shot models' batch


@dataclass(frozen=True)
class Part:
    """How one set is trained and scored."""

    resolution: int
    steps: int              # G steps, the same for every variant
    width: int              # model.g_channels = model.d_channels
    batch: int
    n: int | None           # held-out images scored (and samples drawn); None: every held-out image

    def images(self) -> int:
        return self.steps * self.batch


@dataclass(frozen=True)
class Protocol:
    elpv: Part
    fashion: Part
    seeds: int

    def part(self, name: str) -> Part:
        return getattr(self, name)

    @staticmethod
    def from_dict(raw: dict) -> "Protocol":
        return Protocol(Part(**raw[ELPV]), Part(**raw[FASHION]), raw["seeds"])


CPU = Protocol(Part(64, 500, 16, 32, None), Part(32, 500, 32, 32, 2000), seeds=3)
GPU = Protocol(Part(64, 2000, 64, 64, None), Part(32, 2000, 64, 64, 10_000), seeds=3)
QUICK = Protocol(Part(16, 4, 8, 16, None), Part(32, 4, 8, 16, 300), seeds=2)


def protocol(quick: bool, cuda: bool) -> Protocol:
    return QUICK if quick else GPU if cuda else CPU


def elpv_files(out: Path, resolution: int) -> dict[str, Path]:
    """elpv's train and test splits as `out/elpv_{train,test}_R.npz`, written from the elpv-dataset package
    unless already there; raises `DataError` (one line) without the package."""
    files = {split: out / f"elpv_{split}_{resolution}.npz" for split in ("train", "test")}
    for split, path in files.items():
        if not path.is_file():
            write_elpv_npz(path, resolution, split)
    return files


def set_overrides(name: str, part: Part, train_file: Path | None = None) -> list[str]:
    """The overrides of the `dcgan_fashion` preset every run on set `name` shares."""
    data = (["data.name=npz", f"data.root={train_file}", f"data.resolution={part.resolution}"] if name == ELPV
            else [f"data.fraction={FRACTION:g}"])
    every = max(1, part.steps // 5)
    return [*data, f"model.g_channels={part.width}", f"model.d_channels={part.width}",
            f"train.batch_size={part.batch}", f"train.steps={part.steps}", f"train.sample_every={every}",
            f"train.ckpt_every={part.steps}", f"train.log_every={max(1, min(20, every))}"]


def held_out(name: str, part: Part, test_file: Path | None = None) -> torch.Tensor:
    """The held-out images runs on `name` are scored against, `[N, 1, R, R]` in [-1, 1]: every elpv test
    image, or a seeded draw of `part.n` of Fashion-MNIST's test split."""
    config = (DataConfig(name="npz", root=str(test_file), resolution=part.resolution, channels=1) if name == ELPV
              else DataConfig(name="fashion-mnist", split="test", resolution=part.resolution))
    test = build_dataset(config)
    return draw(test, part.n or len(test), seed=0)


def final_p(run_dir: Path) -> float:
    """The probability of augmenting an image the run ended with (its checkpoint's; 0 without augmentation)."""
    state = load_checkpoint(run_dir).get("augment")
    return 0.0 if state is None else float(state["p"])


def failed_scores(name: str, part: Part) -> dict[str, float]:
    """What a diverged run scores: every key a finished run has, at its worst (p unknown)."""
    levels = [f"swd_{side}" for side in (part.resolution >> k for k in range(8)) if side >= SWD_MIN_SIDE]
    worst = {**dict.fromkeys([*levels, "swd"], math.inf), "precision": 0.0, "recall": 0.0, "p": math.nan}
    return {**worst, "fd_fmnist": math.inf} if name == FASHION else worst


def p_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(step, p) from the run's log.jsonl: each record's mean p over its interval."""
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    return [(int(r["step"]), float(r["augment/p"])) for r in records if "augment/p" in r]


def score(job: Job, real: torch.Tensor, real_features: np.ndarray, fd: bool) -> dict[str, float]:
    """A run's scores against the held-out images `real` (whose classifier features are `real_features`):
    SWD per level and their mean, precision and recall, with `fd` fd_fmnist, and the final p. Kept in the
    run's result.json, which marks the run done."""
    path = job.run_dir / "result.json"
    if path.is_file():
        return json.loads(path.read_text())
    fake = generator_sampler(load_generator(job.run_dir), seed=0)(len(real))
    results = sliced_wasserstein(real, fake, seed=0, min_resolution=SWD_MIN_SIDE)
    features = classify(fake)[0].numpy()
    results["precision"], results["recall"] = precision_recall(real_features, features)
    if fd:
        with warnings.catch_warnings():   # sqrtm of a singular covariance: see metrics.suite.fd_fmnist
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            results["fd_fmnist"] = frechet_distance_from_features(real_features, features)
    results["p"] = final_p(job.run_dir)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=1))
    return results


def run_set(name: str, part: Part, seeds: int, out: Path, command: str) -> tuple[Summary, list[str]]:
    """Train and score the three variants on set `name` into `out/name` (ablation.md, ablation.png): the
    summary over seeds and the runs that diverged. Raises `DataError` when the set's data are missing."""
    folder = out / name
    files = elpv_files(out, part.resolution) if name == ELPV else {}
    jobs = plan(bundled(PRESET), [*QUIET, *set_overrides(name, part, files.get("train"))], list(VARIANTS), seeds,
                folder)
    real = held_out(name, part, files.get("test"))
    real_features = classify(real)[0].numpy()
    results, diverged = {}, []
    for job in jobs:
        key = job.variant.name, job.seed
        if (job.run_dir / "result.json").is_file() or train_guarded(job):
            results[key] = score(job, real, real_features, name == FASHION)
        else:
            results[key] = failed_scores(name, part)
            diverged.append(f"{name} {job.variant.name} seed {job.seed}")
    summary = summarise(list(VARIANTS), seeds, results)
    save_summary(summary, folder, command)
    save_comparison_picture(list(VARIANTS), folder)
    shutil.copyfile(folder / "ablation.png", out / f"{name}_samples.png")
    return summary, diverged


def standard_errors(summary: Summary, key: str) -> dict[str, tuple[float, float]]:
    """(mean, standard error over seeds) of `key` by variant."""
    return {v["name"]: (v["mean"][key], v["std"][key] / math.sqrt(v["seeds"]) if v["seeds"] > 1 else 0.0)
            for v in summary.variants}


def diffaugment_helps(none: tuple[float, float], diffaugment: tuple[float, float]) -> bool:
    """The criterion on one set: DiffAugment's mean score (lower is better) is below no augmentation's by more
    than the standard error of the difference; each argument is (mean, standard error)."""
    return none[0] - diffaugment[0] > math.hypot(none[1], diffaugment[1])


def plot(summaries: dict[str, Summary], curves: dict[str, list[list[tuple[int, float]]]], path: Path) -> Path:
    """small_data.png: each set's primary score by variant (mean, std over seeds as the bar), then the adaptive
    runs' p over training steps."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(summaries) + 1, figsize=(3.4 * (len(summaries) + 1), 3.2))
    for ax, (name, summary) in zip(axes, summaries.items()):
        key = PRIMARY[name]
        ax.bar(range(len(summary.variants)), [v["mean"][key] for v in summary.variants],
               yerr=[v["std"][key] for v in summary.variants], capsize=3, color=["0.6", "C0", "C1"])
        ax.set_xticks(range(len(summary.variants)), [v["name"] for v in summary.variants], fontsize=8)
        ax.set_title(f"{TITLES[name]}: {key} (lower is better)", fontsize=9)
    ax = axes[-1]
    for k, (name, runs) in enumerate(curves.items()):
        for seed, curve in enumerate(runs):
            if curve:
                steps, ps = zip(*curve)
                ax.plot(steps, ps, color=f"C{k}", alpha=0.8, label=TITLES[name] if seed == 0 else None)
    ax.set_xlabel("G step")
    ax.set_title("adaptive p over training", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        fig.savefig(file, format="png", dpi=110)
    plt.close(fig)
    return path


def describe(name: str, summary: Summary) -> str:
    """One sentence on set `name`: each variant's primary score, precision and recall, and the best."""
    key = PRIMARY[name]
    cells = ", ".join(f"{v['name']} {v['mean'][key]:.3g} ± {v['std'][key]:.2g} (precision "
                      f"{v['mean']['precision']:.2f}, recall {v['mean']['recall']:.2f})" for v in summary.variants)
    best = min(summary.variants, key=lambda v: v["mean"][key])["name"]
    return f"{TITLES[name]}, {key} against held-out images (mean ± std over seeds): {cells}; best: {best}."


def table(result: ReproResult) -> list[Setting]:
    """DiffAugment's and ADA's small-data protocols beside what ran (`extra["protocol"]`)."""
    p = Protocol.from_dict(result.extra["protocol"]) if result.extra.get("protocol") else protocol(result.quick, False)
    skipped = result.extra.get("skipped", {})
    e, f = p.elpv, p.fashion
    elpv_text = (f"elpv skipped ({skipped[ELPV]})" if ELPV in skipped else
                 f"elpv's train split (2,362 greyscale solar cells) at {e.resolution}x{e.resolution}")
    least = min(part.images() for name, part in ((ELPV, e), (FASHION, f)) if name not in skipped)
    return [
        Setting("data", "CIFAR-10 with 10% of its training images; the 100-shot sets (Obama, grumpy cat, panda) "
                "at 256x256", f"{ZHAO}, CIFAR-10 and few-shot results; {README}",
                f"{elpv_text}; Fashion-MNIST with data.fraction={FRACTION:g} (6,000 images) at 32x32", DIFFERS,
                "no CIFAR-10 or 100-shot sets offline; elpv is real small data above 32x32"),
        Setting("architecture", "StyleGAN2", f"{ZHAO}, CIFAR-10 and few-shot results; {KARRAS}, section 4",
                f"DCGAN (non-saturating loss), width {e.width} on elpv, {f.width} on Fashion-MNIST", DIFFERS,
                "CPU scale; a loss under which sign D(real) means real, as ADA's r_t assumes"),
        Setting("DiffAugment policy", "color, translation, cutout (with 10% of CIFAR-10 and 100 shots)", README,
                f"{POLICY} (saturation is a no-op on grey images)", SAME),
        Setting("ADA target", "r_t = E[sign D(real)] steered towards 0.6", f"{KARRAS}, section 3",
                f"r_t towards {ADA_TARGET:g}", SAME if ADA_TARGET == 0.6 else DIFFERS, "another target"),
        Setting("ADA adjustment", "every 4 D minibatches; p can move from 0 to 1 in 500k real images",
                f"{KARRAS}, section 3; {ADA_CODE}", f"every {ADA_INTERVAL} D minibatches, 0 to 1 in "
                f"{ADA_RAMP_IMAGES:,} images (a run shows {least:,}, so p stays at most "
                f"{min(1.0, least / ADA_RAMP_IMAGES):.3g})",
                SAME if (ADA_INTERVAL, ADA_RAMP_IMAGES) == (4, 500_000) else DIFFERS, "another speed"),
        Setting("ADA augmentations", "ADA's own pipeline (default bgc: flips, 90-degree rotations, integer "
                "translation, geometric and colour transforms), each transform applied with probability p",
                f"{KARRAS}, section 2.2 and appendix B; {ADA_CODE}", "DiffAugment's ops under ADA's p: an image "
                "gets all of them with probability p", DIFFERS, "ganforge implements DiffAugment's ops only"),
        amount("length", f"{PAPER_IMAGES:,} real images per 100-shot run (the released code's default)", README,
               f"{e.steps:,} G steps of {e.batch} on elpv, {f.steps:,} of {f.batch} on Fashion-MNIST", least,
               PAPER_IMAGES, None, "CPU time"),
        Setting("batch", f"{PAPER_BATCH} (the released 100-shot models)", README,
                f"{e.batch} (elpv), {f.batch} (Fashion-MNIST)", SAME if e.batch == f.batch == PAPER_BATCH else DIFFERS,
                "the protocol's batch: fewer, larger steps on a CPU"),
        Setting("seeds", NOT_STATED, "", str(p.seeds), UNKNOWN),
        Setting("metric", "FID of Inception features (CIFAR-10: 10k samples; 100-shot: 5k against the training "
                "images)", README, "SWD and precision/recall (k = 3) against held-out images (elpv: its 262 test "
                f"images; Fashion-MNIST: {f.n:,} test images), as many samples; fd_fmnist on Fashion-MNIST",
                DIFFERS, "no Inception weights offline; held-out images, so memorising the training set does "
                "not score"),
    ]


@register_repro("small-data", f"{ZHAO} (DiffAugment) and {KARRAS} (ADA): augmentation for small data",
                "no augmentation, DiffAugment and ADA's adaptive p at equal steps, 3 seeds, on elpv at 64x64 "
                "(optional elpv-dataset) and 10% of Fashion-MNIST; SWD, precision/recall, fd_fmnist against "
                "held-out images", table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    p = protocol(quick, torch.cuda.is_available())
    command = f"ganforge repro small-data{' --quick' if quick else ''}"
    summaries: dict[str, Summary] = {}
    skipped: dict[str, str] = {}
    diverged: list[str] = []
    for name in (ELPV, FASHION):
        try:
            summaries[name], failed = run_set(name, p.part(name), p.seeds, out, command)
            diverged += failed
        except DataError as exc:
            if name == FASHION:      # the comparison needs at least this set
                raise
            skipped[name] = str(exc)
    adaptive = VARIANTS[2].slug
    curves = {name: [p_curve(out / name / adaptive / f"seed{s}") for s in range(p.seeds)] for name in summaries}
    finals = {name: [run["p"] for run in next(v for v in s.variants if v["name"] == ADAPTIVE_P)["runs"]
                     if not math.isnan(run["p"])] for name, s in summaries.items()}
    plot(summaries, curves, out / "small_data.png")
    helps = {name: diffaugment_helps(*(standard_errors(s, PRIMARY[name])[v] for v in (NONE, DIFFAUGMENT)))
             for name, s in summaries.items()}
    rows: list[Row] = []
    for name, summary in summaries.items():
        keys = [PRIMARY[name], *(["swd"] if name == FASHION else []), "precision", "recall", "p"]
        rows += [replace(row, what=f"{TITLES[name]}, {row.what}") for row in grid_rows(summary, keys)
                 if not row.what.endswith(": p") or row.what.startswith(ADAPTIVE_P)]   # the others' p is fixed
    images = {name: p.part(name).images() for name in summaries}
    text = " ".join(describe(name, s) for name, s in summaries.items())
    text += " Adaptive p ended at " + "; ".join(
        f"{', '.join(f'{x:.4f}' for x in finals[name])} on {TITLES[name]} (at most "
        f"{min(1.0, images[name] / ADA_RAMP_IMAGES):.3g} after {images[name]:,} images)" for name in summaries) + "."
    text += " DiffAugment below no augmentation by more than the error: " + ", ".join(
        f"{TITLES[name]} {'yes' if ok else 'no'}" for name, ok in helps.items()) + "."
    text += "".join(f" {TITLES[name]} part skipped: {why}." for name, why in skipped.items())
    text += f" Diverged: {', '.join(diverged)}." if diverged else ""
    train_file = Path(f"elpv_train_{p.elpv.resolution}.npz")
    return ReproResult(
        name="small-data", paper=f"{ZHAO}, CIFAR-10 10% data (StyleGAN2 FID 36.02 -> 14.50; not comparable)",
        protocol=" ".join(f"{TITLES[name]}: `{PRESET}` {' '.join(set_overrides(name, p.part(name), train_file))};"
                          for name in summaries) + f" variants {', '.join(v.name for v in VARIANTS)} "
                 f"({POLICY}); {p.seeds} seed(s); scored against held-out images.",
        holds=all(helps.values()), summary=text, rows=rows,
        figures=["small_data.png", *(f"{name}_samples.png" for name in summaries)],
        extra={"protocol": asdict(p), "skipped": skipped, "final_p": finals, "diverged": diverged,
               "helps": helps})
