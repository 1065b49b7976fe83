"""The `ganforge` command: thin subcommands over the public library functions.

User errors (`GanforgeError`) print one line and exit 2; an interrupted run exits 130 after saving.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import warnings
from importlib import resources
from pathlib import Path

from . import __version__
from .errors import GanforgeError, GanforgeWarning, Interrupted


def preset_path(name: str) -> Path:
    """A config file path, or the name of a preset shipped with ganforge (`toy_ring`, `dcgan_fashion`...)."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    bundled = Path(str(resources.files("ganforge") / "configs" / f"{path.stem}.yaml"))
    return bundled if bundled.is_file() else path


def cmd_train(args: argparse.Namespace) -> None:
    from .config import load_config
    from .engine.loop import resume_config
    from .runner import train

    if args.resume:
        if args.config:
            raise GanforgeError("give either a CONFIG or --resume RUN_DIR, not both")
        config = resume_config(args.resume, args.overrides)
        label = Path(args.resume).name
    elif args.config:
        config_file = preset_path(args.config)
        config = load_config(config_file, args.overrides)
        label = config_file.stem
    else:
        raise GanforgeError("give a CONFIG (a YAML file or a preset such as toy_ring) or --resume RUN_DIR")
    result = train(config, run_dir=args.out, label=label, resume=args.resume)
    print(f"trained to step {result.steps} at {result.images_per_second:.0f} images/s")
    print(f"samples:    {result.picture}")
    if (result.run_dir / "growth.png").is_file():
        print(f"growth:     {result.run_dir / 'growth.png'}  (each resolution's samples at its end)")
    print(f"checkpoint: {result.checkpoint}")
    print(f"log:        {result.run_dir / 'log.jsonl'}")


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import bench
    from .config import load_config

    config_file = preset_path(args.config)
    batch = [f"train.batch_size={args.batch}"] if args.batch else []
    config = load_config(config_file, [*args.overrides, *batch])
    result = bench(config, config_file.stem, args.steps, args.rounds, args.warmup, args.switch, not args.no_plain,
                   log=lambda line: print(line, file=sys.stderr, flush=True))
    print(result.markdown())
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"results: {args.json}")


def cmd_curves(args: argparse.Namespace) -> None:
    from .engine.stats import read_log
    from .viz import save_curves

    log = Path(args.run) / "log.jsonl"
    records = read_log(log)
    if not records:
        raise GanforgeError(f"{args.run} has no training log ({log} is missing or empty)")
    try:
        out = save_curves(records, args.keys, args.out or Path(args.run) / "curves.png", title=str(args.run))
    except ValueError as exc:
        raise GanforgeError(str(exc)) from None
    print(f"curves: {out}")


def cmd_list(args: argparse.Namespace) -> None:
    from . import data, losses, models  # noqa: F401  (fill the registries)
    from .metrics import METRICS
    from .registry import DATASETS, LOSSES, MODELS

    presets = sorted(p.stem for p in Path(str(resources.files("ganforge") / "configs")).glob("*.yaml"))
    for title, registry in (("models", MODELS), ("losses", LOSSES), ("datasets", DATASETS),
                            ("metrics", METRICS)):
        print(f"{title}:")
        for name, help_text in registry.describe():
            print(f"  {name:<14} {help_text}")
    print("presets:")
    print("  " + ", ".join(presets))


def cmd_sample(args: argparse.Namespace) -> None:
    from .generate import sample_to_file

    print(sample_to_file(args.checkpoint, args.out, n=args.n, seed=args.seed, ema=not args.no_ema,
                         class_index=args.class_index, class_grid=args.class_grid))


def cmd_interpolate(args: argparse.Namespace) -> None:
    from .generate import interpolate_to_file

    print(interpolate_to_file(args.checkpoint, args.out, rows=args.rows, steps=args.steps,
                              method=args.method, seed=args.seed, ema=not args.no_ema))


def cmd_eval(args: argparse.Namespace) -> None:
    from .evaluation import evaluate_checkpoint, format_table

    results = evaluate_checkpoint(args.checkpoint, args.metrics, n=args.n, seed=args.seed,
                                  batch_size=args.batch_size, ema=not args.no_ema)
    print(format_table(results))


def cmd_download(args: argparse.Namespace) -> None:
    from .data.download import download

    print(download(args.dataset, args.root, base_url=args.url))


def cmd_ablate(args: argparse.Namespace) -> None:
    from .ablation import format_table, parse_grid, run_ablation

    grid = parse_grid(args.vary or [], args.variant or [])
    config_file = preset_path(args.config)
    out = Path(args.out or f"runs/ablate-{config_file.stem}")
    summary = run_ablation(config_file, args.overrides, grid, args.seeds, out, metrics=args.metrics, n=args.n,
                           jobs=args.jobs, command=shlex.join(["ganforge", *args.argv]))
    print(format_table(summary))
    print(f"table:    {out / 'ablation.md'}")
    print(f"pictures: {out / 'ablation.png'}")


def cmd_demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(args.out, fashion_steps=args.fashion_steps)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganforge", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a GAN from a YAML config with key=value overrides")
    p.add_argument("config", nargs="?", help="YAML file, or a bundled preset name (see `ganforge list`)")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.steps=2000 model.g_channels=32")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run from its checkpoint")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default: a new one under out_dir)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="images/s of training and sampling with each speed switch, against a "
                                     "plain PyTorch loop of the same networks")
    p.add_argument("config", help="YAML file, or a bundled preset name")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.device=cuda")
    p.add_argument("--steps", type=int, default=20, help="training steps (and sampling batches) per timed round")
    p.add_argument("--rounds", type=int, default=3, help="alternating timed rounds; the best one counts")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation happens here)")
    p.add_argument("--batch", type=int, help="batch size (default: the config's)")
    p.add_argument("--switch", action="append", help="measure only this switch (repeatable; default: all; `default`: none)")
    p.add_argument("--no-plain", action="store_true", help="leave out the plain-loop baseline")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("curves", help="plot logged values over training, e.g. 'loss/*' or 'sigma/d/*'")
    p.add_argument("run", help="a run directory")
    p.add_argument("keys", nargs="+", help="glob patterns of log keys")
    p.add_argument("--out", help="PNG path (default RUN/curves.png)")
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("list", help="print registered models, losses, datasets, metrics and presets")
    p.set_defaults(func=cmd_list)

    def add_generator_args(p: argparse.ArgumentParser, out: str) -> None:
        p.add_argument("checkpoint", help="checkpoint file or run directory")
        p.add_argument("--out", default=out, help=f"PNG to write (default {out})")
        p.add_argument("--seed", type=int, default=0, help="seed of the latent draw")
        p.add_argument("--no-ema", action="store_true", help="use the raw generator, not its EMA")

    p = sub.add_parser("sample", help="save a grid (or plot) of samples from a checkpoint")
    add_generator_args(p, "samples.png")
    p.add_argument("--n", type=int, default=64, help="number of samples (per class with --class-grid)")
    p.add_argument("--class", type=int, dest="class_index", metavar="K",
                   help="conditional models: sample class K only")
    p.add_argument("--class-grid", action="store_true", help="conditional models: one row per class")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("interpolate", help="save latent-space walks between random points (DCGAN fig. 4)")
    add_generator_args(p, "walk.png")
    p.add_argument("--rows", type=int, default=8, help="number of walks")
    p.add_argument("--steps", type=int, default=10, help="images per walk, both ends included")
    p.add_argument("--method", default="slerp", help="slerp (spherical) or lerp (linear)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("eval", help="compute metrics of a checkpoint against its training data")
    p.add_argument("checkpoint", help="checkpoint file or run directory")
    p.add_argument("--metrics", default="", help="comma-separated names (default: all for the data)")
    p.add_argument("--n", type=int, default=10_000, help="generated and real samples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent and real-data draws")
    p.add_argument("--batch-size", type=int, default=250, help="generation and feature batch size")
    p.add_argument("--no-ema", action="store_true", help="evaluate the raw generator, not its EMA")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("download", help="download an IDX dataset (fashion-mnist, mnist)")
    p.add_argument("dataset", help="fashion-mnist or mnist")
    p.add_argument("--root", default=None, help="folder to write (default ~/.cache/ganforge/DATASET)")
    p.add_argument("--url", default=None, help="mirror to fetch from instead of the official host")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("ablate", help="train a config under several switch settings and seeds; compare them")
    p.add_argument("config", help="YAML file or bundled preset")
    p.add_argument("overrides", nargs="*", help="dotted overrides applied to every run")
    p.add_argument("--vary", action="append", metavar="KEY=V1,V2", help="values to try (several: their product)")
    p.add_argument("--variant", action="append", metavar="'NAME: k=v ...'", help="a named set of overrides")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per variant (default 3)")
    p.add_argument("--metrics", default="", help="comma-separated metric names (default: all for the data)")
    p.add_argument("--n", type=int, default=None, help="samples scored per run (default 2500 toy, 5000 images)")
    p.add_argument("--out", default=None, help="folder of the grid (default runs/ablate-CONFIG)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once, in separate processes")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("demo", help="the embedded default: 2-D ring, then DCGAN on Fashion-MNIST if present")
    p.add_argument("--out", default="runs/demo", help="folder for the demo runs")
    p.add_argument("--fashion-steps", type=int, default=400, help="DCGAN steps on Fashion-MNIST")
    p.set_defaults(func=cmd_demo)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our own warnings as one line; others as Python prints them."""
    if issubclass(category, GanforgeWarning):
        print(f"ganforge: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded by commands that report themselves
    if args.command in ("train", "ablate", "bench"):  # overrides may follow options: `train CONFIG --out DIR a.b=1`
        unknown = [e for e in extra if e.startswith("-") or "=" not in e]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.overrides += extra
        if args.command == "train" and args.config and "=" in args.config and not Path(args.config).exists():
            args.overrides.insert(0, args.config)  # `train --resume DIR train.steps=600`
            args.config = None
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        args.func(args)
    except Interrupted as exc:
        print(f"ganforge: {exc}", file=sys.stderr)
        return 130
    except GanforgeError as exc:
        print(f"ganforge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
