"""The main job (`ganforge demo`, run by ./run.sh) on tiny stand-ins for its presets: it ends on the class
grid of the conditional run and says where it is; without the data it skips that part with a message."""
from pathlib import Path

from PIL import Image

from ganforge import demo
from ganforge.cli import main
from ganforge.config import load_config, to_dict
from ganforge.errors import DataError

from .runs import image_overrides, toy_overrides


def _tiny_presets(monkeypatch, tmp_path, image_data):
    """The demo's own presets, shrunk by overrides (tiny nets, `image_data` for Fashion-MNIST) so both runs
    take a second or two."""
    def load(path, overrides=()):
        shrink = (toy_overrides(tmp_path, steps=4) if path.stem == "toy_ring"
                  else image_overrides(image_data, tmp_path, steps=3))
        return load_config(path, [*shrink, *overrides])

    monkeypatch.setattr(demo, "load_config", load)


def test_demo_ends_on_the_class_grid(monkeypatch, tmp_path, tiny_images, capsys):
    _tiny_presets(monkeypatch, tmp_path, tiny_images)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--fashion-steps", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    grid = tmp_path / "demo" / demo.FASHION_PRESET / "classes.png"
    assert lines[-1].startswith("class grid") and lines[-1].endswith(str(grid))
    # every file the demo names for its two runs exists (the "next:" line names one to be written)
    named = [line.split(":", 1) for line in lines if line.startswith("  ")]
    labels = [label.strip() for label, _ in named]
    assert labels.count("samples") == 2 and labels.count("checkpoint") == 2
    assert all(Path(path.strip()).is_file() for _, path in named)
    assert any("2 steps" in line for line in lines)
    # tiny_images has 4 classes: 4 rows of 10 8x8 samples, 2-pixel padding, scaled 2x
    assert Image.open(grid).size == (2 * (10 * 10 + 2), 2 * (4 * 10 + 2))


def test_demo_preset_is_cdcgan_fashion_cut_short():
    """The demo shows the conditional preset the documentation recommends, so their resolved configs may
    differ only in how long the run is and how often it writes."""
    demo_tree = to_dict(load_config(demo._preset(demo.FASHION_PRESET)))
    full_tree = to_dict(load_config(demo._preset("cdcgan_fashion")))
    assert demo_tree["train"]["steps"] < full_tree["train"]["steps"]
    for tree in (demo_tree, full_tree):
        for key in ("steps", "sample_every", "ckpt_every"):
            del tree["train"][key]
    assert demo_tree == full_tree


def test_demo_without_the_data_skips_with_a_message(monkeypatch, tmp_path, capsys):
    _tiny_presets(monkeypatch, tmp_path, tmp_path / "absent.npz")
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "skipping the Fashion-MNIST demo" in out and "absent.npz" in out
    assert not (tmp_path / "demo" / demo.FASHION_PRESET).exists()


def test_demo_runs_honour_eval_settings(tmp_path, monkeypatch):
    """The demo trains through the one entry point, so `eval.*` in a preset applies there too."""
    tiny = toy_overrides(tmp_path, steps=20) + ["eval.every=10", "eval.metrics=modes", "eval.n=100"]
    monkeypatch.setattr(demo, "load_config", lambda path, overrides=(): load_config(path, [*overrides, *tiny]))

    def no_fashion(config):
        raise DataError("no Fashion-MNIST in this test")

    monkeypatch.setattr(demo, "build_dataset", no_fashion)
    results = demo.run_demo(tmp_path / "demo")
    lines = (results[0].run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and results[0].steps == 20
