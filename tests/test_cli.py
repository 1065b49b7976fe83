"""End-to-end runs of the `ganforge` command on tiny data, and its one-line errors on bad input."""
import subprocess
import sys

import pytest
from PIL import Image

from ganforge.cli import main

from .runs import image_overrides, toy_overrides


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, message):
    assert code == 2
    lines = err.split("\r")[-1].strip().splitlines()  # what the terminal shows once a progress bar cleared
    assert len(lines) == 1 and lines[0].startswith("ganforge: error:") and message in lines[0], err


def test_train_sample_interpolate(tiny_images, tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(["train", "configs/dcgan_fashion.yaml", "--out", run,
                            *image_overrides(tiny_images, tmp_path)], capsys)
    assert code == 0, out
    assert "images/s" in out and str(run / "checkpoint.pt") in out
    code, out, _ = run_cli(["sample", run, "--n", 9, "--out", tmp_path / "grid.png"], capsys)
    assert code == 0 and Image.open(tmp_path / "grid.png").size[0] > 8 * 3
    code, out, _ = run_cli(["interpolate", run / "checkpoint.pt", "--rows", 2, "--steps", 5,
                            "--out", tmp_path / "walk.png"], capsys)
    assert code == 0 and (tmp_path / "walk.png").is_file()


def test_toy_run_by_preset_name_and_resume(tmp_path, capsys):
    run = tmp_path / "ring"
    code, out, _ = run_cli(["train", "toy_ring", "--out", run, *toy_overrides(tmp_path, steps=10)], capsys)
    assert code == 0 and (run / "samples" / "step_0000010.png").is_file()
    code, out, _ = run_cli(["train", "--resume", run, "train.steps=20"], capsys)
    assert code == 0 and "step 20" in out


def _list_sections(out: str) -> dict[str, list[str]]:
    """`ganforge list` output as {section: [names]}: the first word of each indented line, or for presets the
    comma-separated line, so a name only counts where it stands whole in its own section."""
    sections: dict[str, list[str]] = {}
    for line in out.splitlines():
        if not line.startswith(" "):
            current = sections.setdefault(line.rstrip(":"), [])
        elif line.strip():
            current.extend(line.split(", ") if current is sections.get("presets") else [line.split()[0]])
    return {name: [n.strip() for n in names] for name, names in sections.items()}


def test_list_shows_registries(capsys):
    from ganforge.metrics import METRICS
    from ganforge.registry import DATASETS, LOSSES, MODELS

    code, out, _ = run_cli(["list"], capsys)
    assert code == 0
    sections = _list_sections(out)
    expected = {"models": {"dcgan", "mlp", "sngan", "resnet", "pggan"},
                "losses": {"ns", "minimax", "hinge", "wasserstein", "lsgan"},
                "datasets": {"ring", "grid", "gaussian1d", "fashion-mnist", "mnist", "folder", "npz", "cifar10"},
                "metrics": {"fd_fmnist", "modes", "swd"}, "presets": {"toy_ring", "dcgan_fashion"}}
    for section, names in expected.items():
        assert names <= set(sections[section]), (section, sections.get(section))
    for section, registry in (("models", MODELS), ("losses", LOSSES), ("datasets", DATASETS), ("metrics", METRICS)):
        assert sections[section] == registry.names()


@pytest.mark.parametrize("extra, message", [
    (["train.stpes=5"], "unknown config key 'train.stpes'"),
    (["train.steps=ten"], "'train.steps' must be int"),
    (["model.name=stylegan9"], "unknown model 'stylegan9'"),
    (["loss.name=nonsat"], "unknown loss 'nonsat'"),
    (["data.name=npz", "data.root=/nonexistent/x.npz"], "/nonexistent/x.npz"),
    # refused rather than silently fixed or ignored
    (["train.compile=reduce-overhead", "train.device=cpu"],
     "train.compile=reduce-overhead (torch.compile with CUDA graphs) needs CUDA"),
    (["model.g_norm=virtual"], "model.g_norm=virtual does not apply to model.name=mlp (it has no such option)"),
    (["loss.name=hinge", "loss.real_label=0.9"], "loss.name=hinge has none (use minimax or ns)"),
    (["model.name=dcgan"], "model.depth=2 does not apply to model.name=dcgan (only mlp reads it)"),
])
def test_bad_input_gives_one_line_and_no_run_directory(tmp_path, capsys, extra, message):
    code, _, err = run_cli(["train", "toy_ring", "--out", tmp_path / "run",
                            *toy_overrides(tmp_path), *extra], capsys)
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra, message", [
    (["model.name=pggan", "train.batch_size=30"],
     "model.mbstd_group=4 must divide every training batch D sees; train.batch_size has 30"),
    (["model.name=pggan", "model.pack=2", "growth.stable_images=100", "growth.batch_sizes=[16,10,8,7]"],
     "growth.batch_sizes [16, 10, 8, 7] must all be multiples of model.pack (2)"),
    (["model.name=dcgan", "model.mbstd_group=8"], "model.mbstd_group=8 does not apply to model.name=dcgan"),
    (["model.name=dcgan", "model.mbstd_group=4"], "model.mbstd_group=4 does not apply to model.name=dcgan"),
])
def test_image_family_options_are_refused_in_one_line(tmp_path, capsys, extra, message):
    """From a config that writes no MLP-only key (toy_ring writes model.depth, which an image family
    would refuse first); the last case is an option written at its default value."""
    base = tmp_path / "base.yaml"
    base.write_text("data:\n  name: ring\n")
    overrides = [o for o in toy_overrides(tmp_path) if not o.startswith("model.depth=")]
    code, _, err = run_cli(["train", str(base), "--out", tmp_path / "run", *overrides, *extra], capsys)
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "run").exists()


def test_corrupt_data_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    code, _, err = run_cli(["train", "toy_ring", "--out", tmp_path / "run", *toy_overrides(tmp_path),
                            "data.name=npz", f"data.root={bad}"], capsys)
    assert_one_line_error(code, err, "bad.npz")


def test_bad_checkpoints(tmp_path, capsys, tiny_images):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    code, _, err = run_cli(["sample", junk], capsys)
    assert_one_line_error(code, err, "not a readable ganforge checkpoint")
    code, _, err = run_cli(["sample", tmp_path / "missing.pt"], capsys)
    assert_one_line_error(code, err, "does not exist")
    run = tmp_path / "run"
    assert run_cli(["train", "toy_ring", "--out", run, *toy_overrides(tmp_path, steps=10)], capsys)[0] == 0
    before = (run / "checkpoint.pt").read_bytes()
    code, _, err = run_cli(["train", "--resume", run, "train.steps=20", "model.g_channels=8"], capsys)
    assert_one_line_error(code, err, "checkpoint holds model")
    assert (run / "checkpoint.pt").read_bytes() == before
    code, _, err = run_cli(["interpolate", run], capsys)
    assert_one_line_error(code, err, "need an image model")


def test_console_script_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganforge.cli", "train", str(tmp_path / "none.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "does not exist" in result.stderr


def test_eval_prints_and_records_image_metrics(tmp_path, capsys):
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    data = tmp_path / "blobs.npz"
    np.savez(data, x=rng.integers(0, 256, size=(400, 16, 16), dtype=np.uint8))
    run = tmp_path / "run"
    overrides = [f"data.root={data}", "data.name=npz", "data.resolution=16", "model.name=dcgan",
                 "model.z_dim=8", "model.g_channels=4", "model.d_channels=4", "train.steps=3",
                 "train.batch_size=16", "train.progress=false", "train.tensorboard=false"]
    assert run_cli(["train", "dcgan_fashion", "--out", run, *overrides], capsys)[0] == 0
    code, out, _ = run_cli(["eval", run, "--n", 300, "--metrics", "fd_fmnist,kd_fmnist,pr_fmnist,classes,swd,msssim",
                            "--batch-size", 100], capsys)
    assert code == 0, out
    for key in ("fd_fmnist", "kd_fmnist", "precision", "recall", "classes_covered", "swd_16", "swd", "msssim"):
        assert key in out
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert record["step"] == 3 and record["n"] == 300 and record["fd_fmnist"] > 0


def test_eval_errors_are_one_line(tiny_images, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(["train", "dcgan_fashion", "--out", run, *image_overrides(tiny_images, tmp_path, steps=3)],
                   capsys)[0] == 0
    code, _, err = run_cli(["eval", run, "--metrics", "fid_fmnist"], capsys)
    assert_one_line_error(code, err, "unknown metric 'fid_fmnist'")
    code, _, err = run_cli(["eval", run, "--metrics", "swd", "--n", 50], capsys)
    assert_one_line_error(code, err, "metric 'swd' does not apply here: SWD needs square images")
    code, _, err = run_cli(["eval", run, "--metrics", "modes", "--n", 50], capsys)
    assert_one_line_error(code, err, "applies to points data")
    assert not (run / "metrics.jsonl").exists()


def test_curves_plots_matching_log_keys_and_names_the_keys_when_none_match(tmp_path, capsys):
    run = tmp_path / "ring"
    overrides = toy_overrides(tmp_path, steps=20) + ["model.d_sn=true", "train.log_every=5"]
    assert run_cli(["train", "toy_ring", "--out", run, *overrides], capsys)[0] == 0
    code, out, _ = run_cli(["curves", run, "sigma/d/*", "loss/g"], capsys)
    assert code == 0 and (run / "curves.png").stat().st_size > 1000
    code, _, err = run_cli(["curves", run, "nothing/*"], capsys)
    assert_one_line_error(code, err, "no logged key matches nothing/*; the log has d/acc_fake")
    code, _, err = run_cli(["curves", tmp_path, "loss/*"], capsys)
    assert_one_line_error(code, err, "has no training log")


def test_a_dataset_smaller_than_one_batch_is_one_line(tmp_path, capsys):
    import numpy as np

    for index in range(4):
        Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(tmp_path / f"{index}.png")
    code, _, err = run_cli(["train", "pggan_folder", f"data.root={tmp_path}", "--out", tmp_path / "run"], capsys)
    assert_one_line_error(code, err, "the dataset has 4 samples, fewer than one batch of 16; add data or lower "
                                     "growth.batch_sizes")
    assert not (tmp_path / "run").exists()


def test_a_reader_that_goes_away_gets_no_traceback():
    """`ganforge list | head -1`: the pipe closes early; the command ends quietly, as Unix tools do."""
    import subprocess
    import sys

    done = subprocess.run(f"{sys.executable} -m ganforge list | head -1", shell=True, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "models:"
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr
