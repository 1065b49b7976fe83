import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.viz import image_grid, save_density_1d, save_image_grid, save_points, save_samples


def test_grid_pixels_by_hand():
    images = torch.stack([torch.full((1, 2, 2), v) for v in (-1.0, 0.0, 1.0)])  # 3 images, 2x2
    grid = image_grid(images, nrow=2, padding=1)
    assert grid.shape == (1 + 2 * 3, 1 + 2 * 3, 1)  # 2 rows, 2 columns of 2x2 plus 1-pixel gaps
    assert (grid[1:3, 1:3] == 0).all() and (grid[1:3, 4:6] == 128).all() and (grid[4:6, 1:3] == 255).all()
    assert (grid[0] == 0).all() and (grid[4:6, 4:6] == 0).all()  # padding and the empty cell stay black


def test_values_outside_range_are_clamped():
    grid = image_grid(torch.tensor([[[[-3.0, 5.0]]]]), padding=0)
    assert grid[0, :, 0].tolist() == [0, 255]


@pytest.mark.parametrize("channels, mode", [(1, "L"), (3, "RGB")])
def test_png_modes_and_scale(tmp_path, channels, mode):
    path = save_image_grid(torch.rand(4, channels, 8, 8) * 2 - 1, tmp_path / "g.png", scale=2)
    picture = Image.open(path)
    assert picture.mode == mode and picture.size == (2 * (2 + 2 * 10), 2 * (2 + 2 * 10))
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]


def test_plots_are_written(tmp_path):
    points = save_points(torch.randn(100, 2), tmp_path / "p.png", real=torch.randn(50, 2),
                         centres=torch.zeros(1, 2), title="t")
    density = save_density_1d(torch.randn(100, 1), tmp_path / "d.png", real=torch.randn(100, 1) + 1,
                              discriminator=lambda x: torch.sigmoid(x))
    for path in (points, density):
        picture = Image.open(path)
        assert picture.size[0] > 100 and np.asarray(picture).std() > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png", "p.png"]


def test_save_samples_dispatches_by_shape(tmp_path):
    assert Image.open(save_samples(torch.zeros(4, 1, 8, 8), tmp_path / "a.png")).mode == "L"
    assert save_samples(torch.randn(10, 2), tmp_path / "b.png").is_file()
    assert save_samples(torch.randn(10, 1), tmp_path / "c.png").is_file()
    with pytest.raises(ValueError, match="cannot picture"):
        save_samples(torch.randn(10, 3), tmp_path / "d.png")


def test_toy_plots_keep_the_data_window_whatever_the_samples(tmp_path, monkeypatch):
    """Snapshots over training share their axes (set by the real data), so they compare at a glance."""
    import ganforge.viz as viz

    limits = []
    original = viz.save_figure

    def record(plt, fig, path):
        ax = fig.get_axes()[0]
        limits.append((ax.get_xlim(), ax.get_ylim()))
        return original(plt, fig, path)

    monkeypatch.setattr(viz, "save_figure", record)
    real = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.5]])
    save_points(torch.zeros(10, 2), tmp_path / "a.png", real=real)
    save_points(torch.randn(10, 2) * 50, tmp_path / "b.png", real=real)  # samples far outside the data
    assert limits[0] == limits[1]
    (x_low, x_high), (y_low, y_high) = limits[0]
    assert x_low < -1 and x_high > 1 and y_low < -1 and y_high > 1  # the data fit, with a margin
    assert x_high - x_low == pytest.approx(3.0, rel=1e-3)  # 1.5 times the data's extent
