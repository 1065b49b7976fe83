"""Every writing subcommand against every output-path fault and every zero count: one line on stderr, exit 2,
no traceback, nothing left behind. Then the other failure classes of issue 19: work lost at the end,
suffixes that are not formats, leftovers, and misleading messages.

Tests run as root, whom permission bits do not stop, so the "unwritable place" is under /proc, where no one
can create files.
"""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ganforge.cli import main

from .runs import image_overrides, toy_overrides

UNWRITABLE = Path("/proc/ganforge-test")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_images_module):
    """A toy run and an image run (6 and 3 steps), trained once for the module, without reports."""
    from ganforge.config import load_config
    from ganforge.runner import train

    root = tmp_path_factory.mktemp("runs")
    toy, image = root / "toy", root / "image"
    train(load_config("toy_ring", toy_overrides(root, steps=6)), toy)
    train(load_config("dcgan_fashion", image_overrides(tiny_images_module, root, steps=3)), image)
    return SimpleNamespace(toy=toy, image=image)


@pytest.fixture(scope="module")
def tiny_images_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, size=(256, 8, 8), dtype=np.uint8), y=rng.integers(0, 4, size=256))
    return path


def run_cli(args, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, *phrases: str) -> None:
    """Exit 2 and exactly one line on stderr (no progress bar, no traceback) holding every phrase."""
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ganforge: error:"), (code, err)
    assert "Traceback" not in err and "\r" not in err
    for phrase in phrases:
        assert phrase in lines[0], (phrase, err)


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# The faults, each a function of the test's folder giving the path to pass and a phrase the refusal holds.
def parent_is_file(tmp: Path, name: str):
    (tmp / "afile").write_text("x")
    return tmp / "afile" / name, "is a file, not a folder"


def folder_where_file_belongs(tmp: Path, name: str):
    (tmp / name).mkdir()
    return tmp / name, "is a folder"


def file_where_folder_belongs(tmp: Path, name: str):
    (tmp / name).write_text("x")
    return tmp / name, "is a file; give a folder"


def unwritable(tmp: Path, name: str):
    return UNWRITABLE / name, "cannot create files in /proc"


def unknown_suffix(tmp: Path, name: str):
    return tmp / (Path(name).stem + ".jpg"), ".jpg"


FILE_FAULTS = [parent_is_file, folder_where_file_belongs, unwritable, unknown_suffix]
FOLDER_FAULTS = [parent_is_file, file_where_folder_belongs, unwritable]

# (name, output file or folder name, the command given the output path and the runs)
WRITERS = {
    "sample.png": ("s.png", lambda out, r: ["sample", r.toy, "--n", 4, "--out", out]),
    "sample.npz": ("s.npz", lambda out, r: ["sample", r.image, "--n", 4, "--out", out]),
    "sample DIR/": ("sdir", lambda out, r: ["sample", r.image, "--n", 4, "--out", f"{out}/"]),
    "train --out": ("run", lambda out, r: ["train", "toy_ring", "--out", out, *toy_overrides(out.parent)]),
    "report --out": ("r.html", lambda out, r: ["report", r.toy, "--out", out]),
    "curves --out": ("c.png", lambda out, r: ["curves", r.toy, "loss/*", "--out", out]),
    "interpolate --out": ("w.png", lambda out, r: ["interpolate", r.image, "--rows", 2, "--out", out]),
    "ablate --out": ("grid", lambda out, r: ["ablate", "toy_ring", "--vary", "loss.name=ns,hinge", "--out", out]),
    "bench --json": ("b.json", lambda out, r: ["bench", "toy_ring", "--steps", 1, "--rounds", 1, "--json", out]),
    "repro --out": ("repro", lambda out, r: ["repro", "gan1d", "--quick", "--out", out]),
    "repro --doc": ("doc.md", lambda out, r: ["repro", "--results", "--doc", out]),
    "download --root": ("data", lambda out, r: ["download", "mnist", "--root", out, "--url", "http://127.0.0.1:9/"]),
    "demo --out": ("demo", lambda out, r: ["demo", "--out", out]),
}
FOLDERS = {"sample DIR/", "train --out", "ablate --out", "repro --out", "download --root", "demo --out"}
CASES = [(name, fault) for name in WRITERS for fault in (FOLDER_FAULTS if name in FOLDERS else FILE_FAULTS)
         # a folder of the demo holds runs, so its own path is the parent of what it checks
         if not (name == "demo --out" and fault is file_where_folder_belongs)]


@pytest.mark.parametrize("name, fault", CASES, ids=[f"{n}-{f.__name__}" for n, f in CASES])
def test_output_faults_are_refused_before_any_work(runs, tmp_path, capsys, name, fault):
    target, command = WRITERS[name]
    out, phrase = fault(tmp_path, target)
    before = tree(tmp_path)
    code, _, err = run_cli(command(out, runs), capsys)
    assert_refused(code, err, phrase)
    assert tree(tmp_path) == before
    assert not UNWRITABLE.exists()


def test_the_demo_refuses_a_file_as_its_folder(tmp_path, capsys):
    (tmp_path / "demo").write_text("x")
    code, _, err = run_cli(["demo", "--out", tmp_path / "demo"], capsys)
    assert_refused(code, err, "is a file, not a folder")


ZERO_COUNTS = [
    ["bench", "toy_ring", "--steps", 0], ["bench", "toy_ring", "--rounds", 0], ["bench", "toy_ring", "--batch", 0],
    ["bench", "toy_ring", "--warmup", -1], ["eval", "RUN", "--n", 0], ["eval", "RUN", "--batch-size", 0],
    ["sample", "RUN", "--n", 0], ["sample", "RUN", "--out", "x.npz", "--batch-size", 0],
    ["interpolate", "RUN", "--rows", 0], ["interpolate", "RUN", "--steps", 0],
    ["ablate", "toy_ring", "--seeds", 0], ["ablate", "toy_ring", "--jobs", 0], ["ablate", "toy_ring", "--n", 0],
    ["demo", "--fashion-steps", 0], ["bench", "toy_ring", "--steps", -3],
]


@pytest.mark.parametrize("command", ZERO_COUNTS, ids=[" ".join(map(str, c)) for c in ZERO_COUNTS])
def test_zero_and_negative_counts_are_refused(runs, tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([runs.image if a == "RUN" else a for a in command], capsys)
    assert_refused(code, err, "must be a ")
    assert tree(tmp_path) == []


def test_no_traceback_from_the_console_script(runs, tmp_path):
    """The issue's first example, as a user runs it: `--out adir.npz` where adir.npz is a folder."""
    (tmp_path / "adir.npz").mkdir()
    result = subprocess.run([sys.executable, "-m", "ganforge", "sample", str(runs.image), "--out",
                             str(tmp_path / "adir.npz")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"ganforge: error: --out {tmp_path / 'adir.npz'}: is a folder; "
                                                  "give a file name ending in .npz"]
    assert tree(tmp_path) == ["adir.npz"]


# Work lost at the end

def test_bench_json_into_new_folders_is_written(tmp_path, capsys, monkeypatch):
    """The benchmark itself is stood in for (it is timed in tests/test_bench.py): this is about its results
    reaching a --json path whose folders do not exist yet."""
    import ganforge.bench

    table = SimpleNamespace(markdown=lambda: "| switch |", to_dict=lambda: {"rows": [1]})
    monkeypatch.setattr(ganforge.bench, "bench", lambda *args, **kwargs: table)
    out = tmp_path / "missing" / "dir" / "b.json"
    code, stdout, _ = run_cli(["bench", "toy_ring", "--json", out], capsys)
    assert code == 0 and f"results: {out}" in stdout
    assert json.loads(out.read_text()) == {"rows": [1]}


def test_a_late_os_error_is_one_line_naming_the_path(runs, tmp_path, capsys, monkeypatch):
    """A disk filling up between the check and the write."""
    import ganforge.viz as viz

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(viz.Image.Image, "save", full)
    code, _, err = run_cli(["sample", runs.image, "--n", 4, "--out", tmp_path / "s.png"], capsys)
    assert_refused(code, err, "No space left on device")
    assert tree(tmp_path) == []


# Suffixes mean formats

@pytest.mark.parametrize("command, out", [(["sample", "RUN"], "x.jpg"), (["interpolate", "RUN"], "walk.npz"),
                                          (["sample", "RUN"], "x.webp"), (["curves", "RUN", "loss/*"], "c.npz")])
def test_a_suffix_the_writer_does_not_produce_is_refused(runs, tmp_path, capsys, command, out):
    code, _, err = run_cli([runs.image if a == "RUN" else a for a in command] + ["--out", tmp_path / out], capsys)
    assert_refused(code, err, Path(out).suffix)
    assert tree(tmp_path) == []


def test_sample_folder_and_npz_exports_still_work(runs, tmp_path, capsys):
    code, out, _ = run_cli(["sample", runs.image, "--n", 5, "--batch-size", 2, "--out", tmp_path / "dir"], capsys)
    assert code == 0 and len(list((tmp_path / "dir").glob("*.png"))) == 5
    code, out, _ = run_cli(["sample", runs.image, "--n", 5, "--out", tmp_path / "s.npz"], capsys)
    assert code == 0 and np.load(tmp_path / "s.npz")["arr_0"].shape == (5, 8, 8, 1)
    assert tree(tmp_path) == ["dir", *(f"dir/{i:06d}.png" for i in range(5)), "s.npz"]


# Leftovers nobody is told about

def test_an_interrupted_folder_export_leaves_nothing_and_says_so(runs, tmp_path, capsys, monkeypatch):
    from ganforge import samplefiles

    original, calls = samplefiles.FolderWriter.write, []

    def interrupted(self, pixels, labels):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        original(self, pixels, labels)

    monkeypatch.setattr(samplefiles.FolderWriter, "write", interrupted)
    code, _, err = run_cli(["sample", runs.image, "--n", 6, "--batch-size", 2, "--out", tmp_path / "dir",
                            "--seed", 1], capsys)
    assert code == 130 and "interrupted after 2 of 6 samples; nothing was written" in err
    assert tree(tmp_path) == []


def test_a_folder_holding_files_is_refused_saying_what_it_holds(runs, tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "000000.png").write_bytes(b"")
    code, _, err = run_cli(["sample", runs.image, "--out", tmp_path / "dir"], capsys)
    assert_refused(code, err, "already holds 1 entries (e.g. 000000.png)", "scored with the new samples")


def test_a_failed_download_removes_the_folder_it_made(tmp_path, capsys):
    root = tmp_path / "new" / "mnist"
    code, _, err = run_cli(["download", "mnist", "--root", root, "--url", "http://127.0.0.1:9/"], capsys)
    assert_refused(code, err, "could not download", "nothing was kept")
    assert tree(tmp_path) == []


def test_training_into_an_old_folder_without_a_checkpoint_is_refused(tmp_path, capsys):
    old = tmp_path / "old"
    (old / "samples").mkdir(parents=True)
    (old / "samples" / "step_0000100.png").write_bytes(b"")
    code, _, err = run_cli(["train", "toy_ring", "--out", old, *toy_overrides(tmp_path)], capsys)
    assert_refused(code, err, "already holds 1 entries", "no checkpoint to resume")
    assert tree(old) == ["samples", "samples/step_0000100.png"]


def test_training_into_a_finished_run_points_to_resume(runs, capsys):
    code, _, err = run_cli(["train", "toy_ring", "--out", runs.toy, *toy_overrides(runs.toy.parent)], capsys)
    assert_refused(code, err, f"continue it with `ganforge train --resume {runs.toy}`")


# Messages that mislead

def test_eval_samples_messages(runs, tmp_path, capsys):
    picture = tmp_path / "s.png"
    assert run_cli(["sample", runs.image, "--n", 4, "--out", picture], capsys)[0] == 0
    code, _, err = run_cli(["eval", "--samples", picture, "--data", "fashion-mnist"], capsys)
    assert_refused(code, err, "not an .npz file")
    assert "pickle" not in err
    fake = tmp_path / "fake.npz"
    fake.write_text("not a zip")
    code, _, err = run_cli(["eval", "--samples", fake, "--data", "fashion-mnist"], capsys)
    assert_refused(code, err, "not an .npz archive")
    empty = tmp_path / "empty.npz"
    np.savez(empty, arr_0=np.zeros((0, 28, 28), np.uint8))
    code, _, err = run_cli(["eval", "--samples", empty, "--data", "fashion-mnist"], capsys)
    assert_refused(code, err, "holds no images")
    assert "--n" not in err


def test_eval_samples_default_metrics_leave_out_what_does_not_apply(tmp_path, capsys):
    """28x28 images (`eval --samples S.npz --data fashion-mnist` takes the data at the samples' size): SWD's
    power-of-two pyramid does not apply, so the default set leaves it out, and asking for it is refused
    before any sample is drawn."""
    from ganforge.config import DataConfig
    from ganforge.errors import ConfigError
    from ganforge.evaluation import evaluate_samples
    from ganforge.metrics import default_metrics

    rng = np.random.default_rng(0)
    real, samples = tmp_path / "real.npz", tmp_path / "samples.npz"
    np.savez(real, x=rng.integers(0, 256, size=(64, 28, 28), dtype=np.uint8))
    np.savez(samples, arr_0=rng.integers(0, 256, size=(32, 28, 28), dtype=np.uint8))
    data = DataConfig(name="npz", root=str(real), resolution=28)
    with pytest.raises(ConfigError, match="metric 'swd' does not apply here: SWD needs square images with a "
                                          "power-of-two side of at least 16, these are 28x28"):
        evaluate_samples(samples, data, "fd_fmnist,swd", progress=False)
    assert "generating" not in capsys.readouterr().err
    assert "swd" not in default_metrics("image", shape=(1, 28, 28))
    assert {"swd", "fd_fmnist"} <= set(default_metrics("image", shape=(1, 32, 32)))


def test_no_progress_bar_before_a_refusal(runs, tmp_path, capsys):
    code, _, err = run_cli(["sample", runs.toy, "--n", 300, "--out", tmp_path / "s.npz"], capsys)
    assert_refused(code, err, "sample files need an image model")
    assert "writing samples" not in err


class _RunsCode:
    def __reduce__(self):
        return (print, ("ran code",))


def test_checkpoint_errors_are_whole_sentences(tmp_path, capsys):
    import torch

    torch.save({"format": "ganforge-checkpoint", "payload": _RunsCode()}, tmp_path / "evil.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "evil.pt").read_bytes()[:300])
    code, _, err = run_cli(["sample", tmp_path / "evil.pt", "--out", tmp_path / "s.png"], capsys)
    assert_refused(code, err, "not a readable ganforge checkpoint (", "GLOBAL", "print")  # torch's wording varies
    assert "weights_only" not in err and err.rstrip().endswith(")") and not err.rstrip().endswith(".)")
    code, _, err = run_cli(["sample", tmp_path / "cut.pt", "--out", tmp_path / "s.png"], capsys)
    assert_refused(code, err, "failed reading zip archive: failed finding central directory)")


def test_unknown_preset_gets_did_you_mean(capsys):
    code, _, err = run_cli(["train", "toy_rng"], capsys)
    assert_refused(code, err, "did you mean 'toy_ring'?")
    code, _, err = run_cli(["bench", "dcgan_fashon"], capsys)
    assert_refused(code, err, "did you mean 'dcgan_fashion'?")


def test_argparse_errors_are_one_line(capsys):
    code, _, err = run_cli(["sample"], capsys)
    assert_refused(code, err, "the following arguments are required: checkpoint", "ganforge sample --help")


def test_frechet_distance_of_singular_features_warns_nothing():
    """Features that never fire (dead ReLU units) make singular covariances: the value comes without scipy's
    LinAlgWarning (silenced with its reason in metrics/suite.py)."""
    from ganforge.metrics.suite import fd_fmnist

    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(100, 64)), rng.normal(size=(100, 64))
    real[:, 10:] = fake[:, 10:] = 0
    context = SimpleNamespace(real_classified=(real, None), fake_classified=(fake, None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = fd_fmnist(context)["fd_fmnist"]
    assert np.isfinite(value) and value > 0


# Reports from every way of training

def test_python_train_writes_the_report_and_says_where(tmp_path):
    import ganforge

    config = ganforge.load_config("toy_ring", toy_overrides(tmp_path, steps=4))
    result = ganforge.train(config, run_dir=tmp_path / "run")
    assert result.report == tmp_path / "run" / "report.html" and result.report.stat().st_size > 1000
