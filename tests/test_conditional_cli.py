"""Class-conditional models from the command line: sampling by class, class grids, the class_match metric,
and the warning for smoothed fake labels."""
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import DataConfig
from ganforge.metrics import default_metrics, evaluate

from .runs import image_overrides


@pytest.fixture
def conditional_run(tiny_images, tmp_path):
    out = tmp_path / "cond"
    overrides = image_overrides(tiny_images, tmp_path, steps=2) + ["model.g_label=concat", "model.d_label=acgan",
                                                                        "train.n_grid=20"]
    assert main(["train", "configs/dcgan_fashion.yaml", "--out", str(out), *overrides]) == 0
    return out


def test_training_pictures_show_one_class_per_column(conditional_run):
    picture = sorted((conditional_run / "samples").glob("*.png"))[-1]
    # 20 samples of 4 classes: 4 columns and 5 rows (an unconditional grid of 20 would be 5 wide, 4 high)
    width, height = Image.open(picture).size
    assert (width, height) == (2 * (4 * 10 + 2), 2 * (5 * 10 + 2))


def test_sample_one_class_and_a_class_grid(conditional_run, tmp_path, capsys):
    one = tmp_path / "one.png"
    assert main(["sample", str(conditional_run), "--class", "3", "--n", "8", "--out", str(one)]) == 0
    assert one.is_file()
    grid = tmp_path / "grid.png"
    assert main(["sample", str(conditional_run), "--class-grid", "--n", "5", "--out", str(grid)]) == 0
    width, height = Image.open(grid).size
    # 4 classes as rows of 5 samples: 8x8 images with 2-pixel padding, scaled 2x
    assert (width, height) == (2 * (5 * 10 + 2), 2 * (4 * 10 + 2))
    assert main(["sample", str(conditional_run), "--class", "4", "--out", str(one)]) == 2
    assert "--class must be in 0..3" in capsys.readouterr().err


def test_class_options_refuse_unconditional_models(tiny_images, tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(["train", "configs/dcgan_fashion.yaml", "--out", str(out), *image_overrides(tiny_images, tmp_path, steps=2)]) == 0
    assert main(["sample", str(out), "--class", "1", "--out", str(tmp_path / "x.png")]) == 2
    assert "unconditional" in capsys.readouterr().err


def test_class_match_counts_samples_classified_as_asked(monkeypatch, tiny_images):
    """A fake classifier that returns the label planted in the pixel [0, 0, 0]: the metric is then exactly
    the share of samples whose planted class equals the asked one."""
    from ganforge.metrics import context as context_module

    def classify(images, batch_size):
        labels = images[:, 0, 0, 0].round().long()
        return torch.zeros(len(images), 4, dtype=torch.float64), labels

    monkeypatch.setattr(context_module.classifier, "classify", classify)
    asked = torch.arange(100) % 4
    planted = asked.clone()
    planted[:30] = (planted[:30] + 1) % 4  # 30 samples of the wrong class
    images = torch.zeros(100, 1, 8, 8)
    images[:, 0, 0, 0] = planted.float()
    position = 0

    def sample(n):
        nonlocal position
        chunk = (images[position:position + n], asked[position:position + n])
        position += n
        return chunk

    data = DataConfig(name="npz", root=str(tiny_images), resolution=8)  # class_match reads only the samples
    result = evaluate(sample, data, "class_match", n=100, cache_dir=None)
    assert result["class_match"] == pytest.approx(0.7)


def test_conditional_metrics_only_by_default_for_conditional_generators():
    assert "class_match" in default_metrics("image", conditional=True)
    assert "class_match" not in default_metrics("image")


def test_fake_label_smoothing_warns_in_one_line(tmp_path, capsys):
    from .runs import toy_overrides

    assert main(["train", "toy_ring", "--out", str(tmp_path / "w"), *toy_overrides(tmp_path, steps=2), "loss.fake_label=0.1"]) == 0
    err = capsys.readouterr().err
    assert err.count("ganforge: warning:") == 1 and "p_model" in err
