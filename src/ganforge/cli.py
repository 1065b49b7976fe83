"""The `ganforge` command: thin subcommands over the public library functions.

User errors (`GanforgeError`) print one line and exit 2; an interrupted run exits 130 after saving.
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import shlex
import sys
import warnings
from importlib import resources
from pathlib import Path

from . import __version__
from .config import preset_path
from .errors import ConfigError, GanforgeError, GanforgeWarning, Interrupted
from .fileio import atomic_path
from .outputs import check_file, check_folder, non_negative_int, positive_int


def presets() -> list[str]:
    return sorted(p.stem for p in Path(str(resources.files("ganforge") / "configs")).glob("*.yaml"))


def config_file(name: str) -> Path:
    """A YAML file or a bundled preset's file; a bare name that is neither gets a "did you mean"."""
    path = preset_path(name)
    if path.is_file() or path.parent != Path(".") or path.suffix.lower() in (".yaml", ".yml"):
        return path
    close = difflib.get_close_matches(path.stem, presets(), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"presets: {', '.join(presets())}"
    raise ConfigError(f"no config file or preset {name!r} ({hint})")


def cmd_train(args: argparse.Namespace) -> None:
    from .api import train
    from .config import load_config
    from .engine.loop import resume_config

    if args.resume:
        if args.config:
            raise GanforgeError("give either a CONFIG or --resume RUN_DIR, not both")
        if args.out:
            raise GanforgeError("--resume continues in RUN_DIR itself; --out names a new run's folder")
        config = resume_config(args.resume, args.overrides)
        label = Path(args.resume).name
    elif args.config:
        path = config_file(args.config)
        config = load_config(path, args.overrides)
        label = path.stem
    else:
        raise GanforgeError("give a CONFIG (a YAML file or a preset such as toy_ring) or --resume RUN_DIR")
    result = train(config, run_dir=args.out, label=label, resume=args.resume)
    if os.environ.get("RANK", "0") != "0":  # torchrun's other ranks: rank 0 reports the run
        return
    print(f"trained to step {result.steps} at {result.images_per_second:.0f} images/s")
    print(f"samples:    {result.picture}")
    if (result.run_dir / "growth.png").is_file():
        print(f"growth:     {result.run_dir / 'growth.png'}  (each resolution's samples at its end)")
    print(f"checkpoint: {result.checkpoint}")
    print(f"log:        {result.run_dir / 'log.jsonl'}")
    print(f"report:     {result.report}")


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import bench
    from .config import load_config

    if args.json:  # checked first: a benchmark's minutes are not lost to a path that cannot be written
        check_file(args.json, (".json",), "--json")
    path = config_file(args.config)
    batch = [f"train.batch_size={args.batch}"] if args.batch is not None else []
    config = load_config(path, [*args.overrides, *batch])
    result = bench(config, path.stem, args.steps, args.rounds, args.warmup, args.switch, not args.no_plain,
                   log=lambda line: print(line, file=sys.stderr, flush=True))
    print(result.markdown())
    if args.json:
        with atomic_path(args.json) as tmp:  # makes the folders it names, as the check allowed
            Path(tmp).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"results: {args.json}")


def cmd_curves(args: argparse.Namespace) -> None:
    from .engine.stats import read_log
    from .viz import save_curves

    out = check_file(args.out or Path(args.run) / "curves.png", (".png",))
    log = Path(args.run) / "log.jsonl"
    records = read_log(log)
    if not records:
        raise GanforgeError(f"{args.run} has no training log ({log} is missing or empty)")
    try:
        out = save_curves(records, args.keys, out, title=str(args.run))
    except ValueError as exc:
        raise GanforgeError(str(exc)) from None
    print(f"curves: {out}")


def cmd_list(args: argparse.Namespace) -> None:
    from . import data, losses, models  # noqa: F401  (fill the registries)
    from .metrics import METRICS
    from .registry import DATASETS, LOSSES, MODELS

    registries = (("models", MODELS), ("losses", LOSSES), ("datasets", DATASETS), ("metrics", METRICS))
    width = max(len(name) for _, registry in registries for name in registry.names())
    for title, registry in registries:
        print(f"{title}:")
        for name, help_text in registry.describe():
            print(f"  {name:<{width}} {help_text}")
    print("presets:")
    print("  " + ", ".join(presets()))


def cmd_sample(args: argparse.Namespace) -> None:
    from .generate import export_samples, sample_to_file
    from .outputs import check_sample_output

    if check_sample_output(args.out) != "picture":
        if args.class_index is not None or args.class_grid:
            raise GanforgeError("--class and --class-grid make a picture (--out FILE.png); sample files hold "
                                "what `ganforge eval RUN` scores: every class in turn")
        print(export_samples(args.checkpoint, args.out, n=args.n, seed=args.seed, ema=not args.no_ema,
                             batch_size=args.batch_size))
        return
    print(sample_to_file(args.checkpoint, args.out, n=args.n, seed=args.seed, ema=not args.no_ema,
                         class_index=args.class_index, class_grid=args.class_grid))


def cmd_interpolate(args: argparse.Namespace) -> None:
    from .generate import interpolate_to_file

    print(interpolate_to_file(args.checkpoint, args.out, rows=args.rows, steps=args.steps,
                              method=args.method, seed=args.seed, ema=not args.no_ema))


def cmd_eval(args: argparse.Namespace) -> None:
    from .config import load_config
    from .evaluation import evaluate_checkpoint, evaluate_samples, format_table

    if args.samples is None:
        if args.checkpoint is None or args.data or args.config:
            raise GanforgeError("give a run (ganforge eval RUN), or --samples DIR_OR_NPZ with --data or --config")
        results = evaluate_checkpoint(args.checkpoint, args.metrics, n=10_000 if args.n is None else args.n,
                                      seed=args.seed,
                                      batch_size=args.batch_size, ema=not args.no_ema)
    else:
        if args.checkpoint is not None or args.no_ema or (args.data is None) == (args.config is None):
            raise GanforgeError("--samples takes no run and no --no-ema, and exactly one of --data NAME or "
                                "--config FILE (whose data section is used)")
        data = args.data or load_config(config_file(args.config)).data
        results = evaluate_samples(args.samples, data, args.metrics, n=args.n, seed=args.seed,
                                   batch_size=args.batch_size)
    print(format_table(results))


def cmd_download(args: argparse.Namespace) -> None:
    from .data.download import download

    print(download(args.dataset, args.root, base_url=args.url))


def cmd_ablate(args: argparse.Namespace) -> None:
    from .ablation import format_table, parse_grid, run_ablation, summarise_ablation, train_commands

    grid = parse_grid(args.vary or [], args.variant or [])
    path = config_file(args.config)
    out = check_folder(args.out or f"runs/ablate-{path.stem}")  # may hold finished runs of the grid
    if args.print_commands:
        commands = train_commands(path, args.overrides, grid, args.seeds, out, shown=args.config)
        print("\n".join(commands)) if commands else print(
            "ganforge: every run of the grid is trained; --summarise builds the table", file=sys.stderr)
        return
    command = shlex.join(["ganforge", *args.argv])
    if args.summarise:
        summary = summarise_ablation(path, args.overrides, grid, args.seeds, out, metrics=args.metrics,
                                     n=args.n, command=command)
    else:
        summary = run_ablation(path, args.overrides, grid, args.seeds, out, metrics=args.metrics,
                               n=args.n, jobs=args.jobs, command=command)
    print(format_table(summary))
    print(f"table:    {out / 'ablation.md'}")
    print(f"pictures: {out / 'ablation.png'}")


def cmd_repro(args: argparse.Namespace) -> None:
    from .repro import REPROS, default_out, run_repro
    from .repro.results_doc import write_results_doc
    from .report import write_report

    if args.list:
        from .repro.results_doc import repro_statuses

        for name, help_text, status in repro_statuses(Path("runs/repro"), Path(args.doc)):
            print(f"  {name:<16} {help_text}\n  {'':<16} protocol: {status}")
        return
    if args.results or args.all:
        check_file(args.doc, (".md",), "--doc")
    if args.results:
        if args.name or args.all:
            raise GanforgeError("--results runs nothing; give it without a NAME or --all")
        print(f"results: {write_results_doc(Path('runs/repro'), Path(args.doc))}")
        return
    if bool(args.name) == args.all:
        raise GanforgeError("give one reproduction NAME, --all, --results or --list (see `ganforge repro --list`)")
    if args.all and args.out:
        raise GanforgeError("--out names one reproduction's folder; --all writes each to runs/repro/NAME")
    if args.name:
        REPROS.get(args.name)  # an unknown name is refused as such, not as a folder
    names = REPROS.names() if args.all else [args.name]
    outs = {name: check_folder(args.out) if args.out else check_folder(default_out(name, args.quick))
            for name in names}
    for name, out in outs.items():
        result = run_repro(name, out, quick=args.quick, budget=args.budget)
        print(f"{name}: {result.verdict} ({result.seconds:.0f} s)")
        print(f"  results: {out / 'results.json'}")
        print(f"  report:  {write_report(out)}")
    if args.all:
        print(f"results: {write_results_doc(Path('runs/repro'), Path(args.doc))}")


def cmd_report(args: argparse.Namespace) -> None:
    from .report import write_report

    print(write_report(args.folder, args.out))


def cmd_demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(args.out, fashion_steps=args.fashion_steps)


class UsageError(GanforgeError):
    """A command line argparse cannot read."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors as the one line every other refusal is (the usage is under --help)."""

    def error(self, message: str):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ganforge", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

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
    p.add_argument("--steps", type=positive_int, default=20,
                   help="training steps (and sampling batches) per timed round")
    p.add_argument("--rounds", type=positive_int, default=3, help="alternating timed rounds; the best one counts")
    p.add_argument("--warmup", type=non_negative_int, default=3,
                   help="untimed steps first (compilation happens here)")
    p.add_argument("--batch", type=positive_int, help="batch size (default: the config's)")
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

    def add_generator_args(p: argparse.ArgumentParser, out: str, more: str = "") -> None:
        p.add_argument("checkpoint", help="checkpoint file or run directory")
        p.add_argument("--out", default=out, help=f"PNG to write (default {out}){more}")
        p.add_argument("--seed", type=int, default=0, help="seed of the latent draw")
        p.add_argument("--no-ema", action="store_true", help="use the raw generator, not its EMA")

    p = sub.add_parser("sample", help="save a grid (or plot) of samples, or --out DIR/ or FILE.npz for scoring")
    add_generator_args(p, "samples.png", "; or DIR/ for numbered PNGs, or FILE.npz for uint8 arrays")
    p.add_argument("--n", type=positive_int, default=64, help="number of samples (per class with --class-grid)")
    p.add_argument("--class", type=int, dest="class_index", metavar="K",
                   help="conditional models: sample class K only")
    p.add_argument("--class-grid", action="store_true", help="conditional models: one row per class")
    p.add_argument("--batch-size", type=positive_int, default=250,
                   help="FOLDER/ or FILE.npz: images generated and written at a time (as in eval)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("interpolate", help="save latent-space walks between random points (DCGAN fig. 4)")
    add_generator_args(p, "walk.png")
    p.add_argument("--rows", type=positive_int, default=8, help="number of walks")
    p.add_argument("--steps", type=positive_int, default=10, help="images per walk, both ends included (>= 2)")
    p.add_argument("--method", default="slerp", help="slerp (spherical) or lerp (linear)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("eval", help="compute metrics of a checkpoint (or of sample files) against the data")
    p.add_argument("checkpoint", nargs="?", help="checkpoint file or run directory")
    p.add_argument("--samples", metavar="DIR_OR_NPZ", help="score these images instead of a run's generator")
    p.add_argument("--data", metavar="NAME", help="with --samples: the dataset (`ganforge list`) to compare with")
    p.add_argument("--config", metavar="FILE", help="with --samples: a YAML file or preset whose data section to use")
    p.add_argument("--metrics", default="", help="comma-separated names (default: all for the data)")
    p.add_argument("--n", type=positive_int, default=None,
                   help="generated and real samples (default 10000; with --samples: all the images)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent and real-data draws")
    p.add_argument("--batch-size", type=positive_int, default=250, help="generation and feature batch size")
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
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds 0..N-1 per variant (default 3)")
    p.add_argument("--metrics", default="", help="comma-separated metric names (default: all for the data)")
    p.add_argument("--n", type=positive_int, default=None,
                   help="samples scored per run (default 2500 toy, 5000 images)")
    p.add_argument("--out", default=None, help="folder of the grid (default runs/ablate-CONFIG)")
    p.add_argument("--jobs", type=positive_int, default=1, help="runs trained at once, in separate processes")
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument("--print-commands", action="store_true",
                         help="print one `ganforge train` command per run still to do (for a scheduler); train none")
    cluster.add_argument("--summarise", action="store_true",
                         help="score the finished run folders and print the table; train none")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("repro", help="rerun a seed paper's experiment (full protocol, or --quick) with a report")
    p.add_argument("name", nargs="?", help="a reproduction (see --list)")
    p.add_argument("--list", action="store_true", help="print the reproductions and exit")
    p.add_argument("--all", action="store_true", help="run every reproduction, then write --doc")
    p.add_argument("--quick", action="store_true", help="the reduced protocol (about a minute each)")
    p.add_argument("--out", help="output folder (default runs/repro/NAME, or NAME-quick)")
    p.add_argument("--results", action="store_true", help="only rewrite --doc from the results in runs/repro")
    p.add_argument("--budget", type=float, help="seconds of training, for a reproduction that takes a budget "
                                                "(see --list)")
    p.add_argument("--doc", default="docs/RESULTS.md", help="with --all or --results: the document to write")
    p.set_defaults(func=cmd_repro)

    p = sub.add_parser("report", help="write a self-contained HTML page on a run or reproduction folder")
    p.add_argument("folder", help="a training run or a reproduction's output folder")
    p.add_argument("--out", help="HTML file (default FOLDER/report.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="the embedded default: 2-D ring, then a class-conditional DCGAN on "
                                    "Fashion-MNIST if present, ending on its class grid")
    p.add_argument("--out", default="runs/demo", help="folder for the demo runs")
    p.add_argument("--fashion-steps", type=positive_int, default=None,
                   help="conditional DCGAN steps on Fashion-MNIST (default: the cdcgan_fashion_demo preset's)")
    p.set_defaults(func=cmd_demo)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our own warnings as one line; others as Python prints them."""
    if issubclass(category, GanforgeWarning):
        print(f"ganforge: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def parse(argv: list[str] | None) -> argparse.Namespace:
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
    return args


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    try:
        args = parse(argv)
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
    except BrokenPipeError:  # the reader went away (`ganforge list | head`): nothing left to tell it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush stays quiet
        return 0
    except OSError as exc:  # a file-system refusal that no check foresaw (e.g. a disk filling up)
        if exc.filename is None:
            raise
        print(f"ganforge: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
