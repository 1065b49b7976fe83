import math

import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.toy import mode_centres, mode_std
from ganforge.errors import DataError


def test_ring_centres_on_the_circle():
    config = DataConfig(name="ring", modes=6, radius=2.0)
    angles = torch.tensor([2 * math.pi * k / 6 for k in range(6)])
    expected = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    assert torch.allclose(mode_centres(config), expected, atol=1e-6)


def test_grid_centres_pacgan():
    centres = mode_centres(DataConfig(name="grid"))
    assert centres.shape == (25, 2)
    axis = (-4, -2, 0, 2, 4)
    assert {tuple(c) for c in centres.tolist()} == {(x, y) for x in axis for y in axis}
    assert mode_centres(DataConfig(name="grid", grid_size=2, grid_spacing=1.0)).tolist() == \
        [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]]


def test_default_and_configured_std():
    assert mode_std(DataConfig(name="ring")) == 0.01
    assert mode_std(DataConfig(name="grid")) == 0.05
    assert mode_std(DataConfig(name="gaussian1d")) == 0.5
    assert mode_std(DataConfig(name="ring", std=0.1)) == 0.1


@pytest.mark.parametrize("name, k", [("ring", 8), ("grid", 25)])
def test_points_labels_and_per_mode_statistics(name, k):
    config = DataConfig(name=name, num_samples=50_000, seed=3)
    data = build_dataset(config)
    assert data.samples.shape == (50_000, 2) and data.samples.dtype == torch.float32
    assert data.labels.dtype == torch.int64 and data.num_classes == k and not data.is_image
    centres, std = mode_centres(config), mode_std(config)
    counts = torch.bincount(data.labels, minlength=k).float()
    assert (counts / counts.mean() - 1).abs().max() < 0.15
    for label in range(k):
        offsets = data.samples[data.labels == label] - centres[label]
        assert abs(offsets.mean().item()) < 0.2 * std
        assert offsets.std().item() == pytest.approx(std, rel=0.06)
    nearest = torch.cdist(data.samples, centres).argmin(dim=1)
    assert torch.equal(nearest, data.labels)


def test_gaussian1d():
    data = build_dataset(DataConfig(name="gaussian1d", num_samples=20_000, mean=-1.0, std=0.25))
    assert data.samples.shape == (20_000, 1) and data.num_classes == 1
    assert torch.equal(data.labels, torch.zeros(20_000, dtype=torch.int64))
    assert data.samples.mean().item() == pytest.approx(-1.0, abs=0.01)
    assert data.samples.std().item() == pytest.approx(0.25, rel=0.03)


def test_same_seed_same_data():
    a = build_dataset(DataConfig(name="ring", num_samples=1000, seed=7))
    b = build_dataset(DataConfig(name="ring", num_samples=1000, seed=7))
    c = build_dataset(DataConfig(name="ring", num_samples=1000, seed=8))
    assert torch.equal(a.samples, b.samples) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.samples, c.samples)


def test_bad_toy_configs():
    with pytest.raises(DataError):
        mode_centres(DataConfig(name="mnist"))
    with pytest.raises(DataError):
        build_dataset(DataConfig(name="ring", modes=0))


def test_fraction_keeps_a_seeded_share_of_the_rows_in_order():
    from ganforge.config import make_config
    from ganforge.data import build_dataset
    from ganforge.errors import ConfigError

    full = build_dataset(make_config({}, ["data.num_samples=1000"]).data)
    tenth = build_dataset(make_config({}, ["data.num_samples=1000", "data.fraction=0.1"]).data)
    again = build_dataset(make_config({}, ["data.num_samples=1000", "data.fraction=0.1"]).data)
    assert len(tenth) == 100 and torch.equal(tenth.samples, again.samples)
    rows = {tuple(r.tolist()) for r in full.samples}
    assert all(tuple(r.tolist()) in rows for r in tenth.samples)
    positions = [next(i for i, r in enumerate(full.samples) if torch.equal(r, s)) for s in tenth.samples[:10]]
    assert positions == sorted(positions) and torch.equal(tenth.labels, full.labels[
        [next(i for i, r in enumerate(full.samples) if torch.equal(r, s)) for s in tenth.samples]])
    with pytest.raises(ConfigError, match=r"data.fraction must be in \(0, 1\], got 0.0"):
        make_config({}, ["data.fraction=0"])
