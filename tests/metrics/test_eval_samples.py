"""Scoring images from anywhere (`ganforge eval --samples`): a run's exported samples score exactly what
the run itself scores, against the same cached real statistics; bad input gets one line."""
import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import DataConfig
from ganforge.errors import DataError
from ganforge.evaluation import evaluate_checkpoint, evaluate_samples
from ganforge.generate import export_samples
from ganforge.metrics import evaluate
from ganforge.metrics.context import tensor_sampler

from ..test_cli import assert_one_line_error, run_cli

METRICS = "fd_fmnist,kd_fmnist,class_match,swd"


@pytest.fixture
def labelled_16px(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "blobs.npz"
    np.savez(path, x=rng.integers(0, 256, size=(400, 16, 16), dtype=np.uint8), y=rng.integers(0, 4, size=400))
    return path


@pytest.fixture
def conditional_run(labelled_16px, tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    overrides = [f"data.root={labelled_16px}", "data.name=npz", "data.resolution=16", "model.name=dcgan",
                 "model.z_dim=8", "model.g_channels=4", "model.d_channels=4", "model.g_label=concat",
                 "model.d_label=projection", "train.steps=3", "train.batch_size=16", "train.progress=false",
                 "train.tensorboard=false"]
    assert main(["train", "dcgan_fashion", "--out", str(run), *overrides]) == 0
    return run


def test_exported_samples_score_exactly_what_the_run_scores(conditional_run, labelled_16px, tmp_path):
    direct = evaluate_checkpoint(conditional_run, METRICS, n=200, seed=4, batch_size=100, progress=False,
                                 record=False)
    npz = export_samples(conditional_run, tmp_path / "s.npz", n=200, seed=4, batch_size=100, progress=False)
    data = DataConfig(name="npz", root=str(labelled_16px), resolution=16)
    assert evaluate_samples(npz, data, METRICS, seed=4, batch_size=100, progress=False) == direct
    assert 0 <= direct["class_match"] <= 1  # the labels travelled in arr_1
    # a folder holds no labels, so everything but class_match; and its first 100 of 200 equal a run of 100
    folder = export_samples(conditional_run, tmp_path / "pngs", n=200, seed=4, batch_size=100, progress=False)
    unlabelled = METRICS.replace(",class_match", "")
    assert (evaluate_samples(folder, data, unlabelled, n=100, seed=4, batch_size=100, progress=False)
            == evaluate_checkpoint(conditional_run, unlabelled, n=100, seed=4, batch_size=100, progress=False,
                                   record=False))
    assert len(list((tmp_path / "cache").glob("fmnist-features-*.npz"))) == 2  # one per (n, seed): shared


def test_cli_routes_agree(conditional_run, tmp_path, capsys):
    code, direct, _ = run_cli(["eval", conditional_run, "--n", 200, "--metrics", "fd_fmnist,class_match",
                               "--batch-size", 50], capsys)
    assert code == 0
    assert run_cli(["sample", conditional_run, "--n", 200, "--batch-size", 50, "--out", tmp_path / "s.npz"],
                   capsys)[0] == 0
    code, files, _ = run_cli(["eval", "--samples", tmp_path / "s.npz", "--config", conditional_run / "config.yaml",
                              "--metrics", "fd_fmnist,class_match", "--batch-size", 50], capsys)
    assert code == 0 and files == direct and "class_match" in files


def test_data_by_name_is_the_dataset_at_the_samples_resolution(tmp_path, monkeypatch):
    """Outside images scored against a registered dataset by name; here the 2-D ring is not image data."""
    images = np.random.default_rng(1).integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "rgb.npz", images)
    with pytest.raises(DataError, match=r"images are \[3, 8, 8\] \(C, H, W\) but ring"):
        evaluate_samples(tmp_path / "rgb.npz", "ring", progress=False)
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    real = tmp_path / "real.npz"
    np.savez(real, x=images[:, :, :, 0])
    data = DataConfig(name="npz", root=str(real), resolution=8)
    grey = images[:40, :, :, :1]
    np.savez(tmp_path / "grey.npz", grey)
    expected = evaluate(tensor_sampler(torch.from_numpy(grey[..., 0].copy()).unsqueeze(1).float() / 127.5 - 1),
                        data, "fd_fmnist", n=40, cache_dir=None)
    assert evaluate_samples(tmp_path / "grey.npz", data, "fd_fmnist", progress=False) == expected


def test_folder_of_outside_images(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(2)
    real = tmp_path / "real.npz"
    np.savez(real, x=rng.integers(0, 256, size=(60, 8, 8), dtype=np.uint8))
    folder = tmp_path / "theirs"
    folder.mkdir()
    pixels = rng.integers(0, 256, size=(30, 8, 8), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"img{i:03d}.png")
    data = DataConfig(name="npz", root=str(real), resolution=8)
    expected = evaluate(tensor_sampler(torch.from_numpy(pixels[:, None]).float() / 127.5 - 1), data, "fd_fmnist",
                        n=30, cache_dir=None)
    assert evaluate_samples(folder, data, "fd_fmnist", progress=False) == expected
    Image.fromarray(rng.integers(0, 256, size=(9, 9), dtype=np.uint8)).save(folder / "odd.png")
    with pytest.raises(DataError, match="odd.png"):
        evaluate_samples(folder, data, "fd_fmnist", progress=False)


def test_one_line_errors(conditional_run, tmp_path, capsys):
    npz = tmp_path / "s.npz"
    assert run_cli(["sample", conditional_run, "--n", 20, "--out", npz], capsys)[0] == 0
    config = conditional_run / "config.yaml"
    cases = [
        (["eval", "--samples", npz], "exactly one of --data NAME or --config FILE"),
        (["eval", "--samples", npz, "--data", "mnist", "--config", config], "exactly one of"),
        (["eval", conditional_run, "--samples", npz, "--config", config], "--samples takes no run"),
        (["eval", "--data", "mnist"], "give a run"),
        (["eval", "--samples", npz, "--config", config, "--n", 21], "--n must be in 1..20"),
        (["eval", "--samples", npz, "--config", config, "--metrics", "d_gap"], "applies to 1d data"),
        (["eval", "--samples", tmp_path / "absent.npz", "--config", config], "no such file or folder"),
        (["eval", "--samples", npz, "--data", "ring"], "(C, H, W) but ring"),
    ]
    for args, message in cases:
        code, _, err = run_cli(args, capsys)
        assert_one_line_error(code, err, message)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    code, _, err = run_cli(["eval", "--samples", tmp_path / "bad.npz", "--config", config], capsys)
    assert_one_line_error(code, err, "not an .npz archive")
    np.savez(tmp_path / "float.npz", np.zeros((4, 16, 16), np.float32))
    code, _, err = run_cli(["eval", "--samples", tmp_path / "float.npz", "--config", config], capsys)
    assert_one_line_error(code, err, "images must be uint8")
