"""Sampling from checkpoints: batching, class labels, class grids, latent walks, and sample files (a folder
of PNGs or an .npz) with memory bounded for any N."""
import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge import generate, viz
from ganforge.cli import main
from ganforge.errors import GanforgeError, Interrupted
from ganforge.generate import (class_labels, export_samples, generator_sampler, interpolate_to_file,
                               latents, load_generator, sample_to_file)
from ganforge.latent import slerp
from ganforge.samplefiles import read_samples, to_uint8

from .runs import image_overrides, toy_overrides


def _train(tmp_path, tiny_images, name, *extra):
    out = tmp_path / name
    assert main(["train", "dcgan_fashion", "--out", str(out), *image_overrides(tiny_images, tmp_path, steps=2),
                 *extra]) == 0
    return out


@pytest.fixture
def plain_run(tiny_images, tmp_path):
    return _train(tmp_path, tiny_images, "plain")


@pytest.fixture
def conditional_run(tiny_images, tmp_path):
    return _train(tmp_path, tiny_images, "cond", "model.g_label=concat", "model.d_label=projection")


@pytest.fixture
def capture_grid(monkeypatch):
    """Replaces the PNG writer: records the images and row width instead."""
    seen = {}

    def save(images, path, nrow=None, scale=2):
        seen.update(images=images, nrow=nrow)
        return path

    monkeypatch.setattr(viz, "save_image_grid", save)
    return seen


def test_batched_generation_equals_one_pass(plain_run):
    G = load_generator(plain_run)
    z = latents(G, 10, seed=3)
    assert torch.allclose(generate.generate(G, z, batch_size=3), G(z), atol=1e-6)
    assert torch.equal(latents(G, 10, seed=3), z) and not torch.equal(latents(G, 10, seed=4), z)


def test_class_labels(conditional_run, plain_run):
    G = load_generator(conditional_run)
    assert class_labels(G, 6, None).tolist() == [0, 1, 2, 3, 0, 1]  # tiny_images has 4 classes
    assert class_labels(G, 3, 2).tolist() == [2, 2, 2]
    with pytest.raises(GanforgeError, match="0..3"):
        class_labels(G, 3, 4)
    plain = load_generator(plain_run)
    assert class_labels(plain, 3, None) is None
    with pytest.raises(GanforgeError, match="unconditional"):
        class_labels(plain, 3, 0)


def test_class_grid_is_one_row_per_class(conditional_run, capture_grid):
    sample_to_file(conditional_run, "grid.png", n=5, seed=1, class_grid=True)
    G = load_generator(conditional_run)
    y = torch.arange(4).repeat_interleave(5)
    assert capture_grid["nrow"] == 5
    assert torch.allclose(capture_grid["images"], G(latents(G, 20, 1), y), atol=1e-6)


def test_interpolation_rows_walk_between_their_endpoints(conditional_run, capture_grid):
    interpolate_to_file(conditional_run, "walk.png", rows=3, steps=4, method="slerp", seed=2)
    G = load_generator(conditional_run)
    z = latents(G, 6, 2)
    images = capture_grid["images"].view(3, 4, *capture_grid["images"].shape[1:])
    assert capture_grid["nrow"] == 4
    for row in range(3):
        label = torch.tensor([row])  # each row stays in one class: balanced labels 0, 1, 2
        assert torch.allclose(images[row, 0], G(z[row:row + 1], label)[0], atol=1e-5)
        assert torch.allclose(images[row, -1], G(z[row + 3:row + 4], label)[0], atol=1e-5)
        middle = slerp(z[row:row + 1], z[row + 3:row + 4], torch.tensor(1 / 3))
        assert torch.allclose(images[row, 1], G(middle, label)[0], atol=1e-5)
    with pytest.raises(GanforgeError, match="steps >= 2"):
        interpolate_to_file(conditional_run, "walk.png", rows=3, steps=1)


def test_npz_and_folder_hold_what_the_sampler_draws(conditional_run, tmp_path):
    npz = export_samples(conditional_run, tmp_path / "s.npz", n=7, seed=5, batch_size=3, progress=False)
    folder = export_samples(conditional_run, tmp_path / "s", n=7, seed=5, batch_size=3, progress=False)
    sample = generator_sampler(load_generator(conditional_run), 5)
    chunks = [sample(k) for k in (3, 3, 1)]  # the sampler's own draw, in the same chunks
    expected = torch.cat([to_uint8(images) for images, _ in chunks])
    with np.load(npz) as archive:
        assert archive["arr_0"].shape == (7, 8, 8, 1) and archive["arr_0"].dtype == np.uint8
        assert np.array_equal(archive["arr_0"], expected.permute(0, 2, 3, 1).numpy())
        assert archive["arr_1"].tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:06d}.png" for i in range(7)]
    assert Image.open(folder / "000000.png").mode == "L"
    pixels, labels = read_samples(folder)
    assert torch.equal(pixels, expected) and labels is None


def test_fifty_thousand_samples_in_bounded_memory(plain_run, tmp_path):
    n, batch = 50_000, 2500
    tracemalloc.start()
    try:
        path = export_samples(plain_run, tmp_path / "big.npz", n=n, seed=0, batch_size=batch, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    total = n * 8 * 8  # bytes of uint8 pixels written
    assert peak < total / 4, f"peak {peak} bytes while writing {total}"
    with np.load(path) as archive:
        images = archive["arr_0"]
        assert images.shape == (n, 8, 8, 1) and "arr_1" not in archive.files
    first = to_uint8(generator_sampler(load_generator(plain_run), 0)(batch))  # the sampler's first chunk
    assert np.array_equal(images[:batch], first.permute(0, 2, 3, 1).numpy())
    assert not np.array_equal(images[-batch:], images[:batch])  # later chunks are fresh draws


def test_export_refusals(plain_run, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "old.png").write_bytes(b"")
    with pytest.raises(GanforgeError, match=r"already holds 1 entries \(e.g. old.png\), which would be scored"):
        export_samples(plain_run, taken, n=2, progress=False)
    assert main(["sample", str(plain_run), "--out", str(tmp_path / "x.npz"), "--class", "1"]) == 2
    assert "--class and --class-grid make a picture" in capsys.readouterr().err
    ring = tmp_path / "ring"
    assert main(["train", "toy_ring", "--out", str(ring), *toy_overrides(tmp_path, steps=2)]) == 0
    assert main(["sample", str(ring), "--out", str(tmp_path / "pts.npz"), "--n", "4"]) == 2
    assert "need an image model" in capsys.readouterr().err
    assert not (tmp_path / "pts.npz").exists() and not (tmp_path / ".pts.npz.part").exists()


def test_cli_writes_a_folder_and_an_npz(plain_run, tmp_path, capsys):
    assert main(["sample", str(plain_run), "--n", "5", "--out", str(tmp_path / "pngs") + "/"]) == 0
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 5
    assert main(["sample", str(plain_run), "--n", "5", "--out", str(tmp_path / "x.npz")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path / "x.npz")
    with np.load(tmp_path / "x.npz") as archive:
        assert archive["arr_0"].shape == (5, 8, 8, 1)


def test_an_interrupted_npz_export_leaves_no_file(plain_run, tmp_path, monkeypatch):
    from ganforge.samplefiles import NpzWriter

    write, calls = NpzWriter.write, []

    def interrupted(self, pixels, labels):
        calls.append(len(pixels))
        if len(calls) == 2:
            raise KeyboardInterrupt
        write(self, pixels, labels)

    monkeypatch.setattr(NpzWriter, "write", interrupted)
    with pytest.raises(Interrupted, match="interrupted after 4 of 10 samples; nothing was written"):
        export_samples(plain_run, tmp_path / "out" / "x.npz", n=10, batch_size=4, progress=False)
    assert calls == [4, 4] and list((tmp_path / "out").iterdir()) == []  # neither x.npz nor .x.npz.part
