"""torch-fidelity's IS/FID/KID through ganforge: checked against ganforge's own statistics on the same features.

ganforge's classifier, seeded and untrained (never the shipped weights), stands in for Inception, whose
weights cannot be downloaded here. Skipped where torch-fidelity is not installed (`pip install ganforge[inception]`).
"""
import sys
import types
import urllib.error

import numpy as np
import pytest
import torch

pytest.importorskip("torch_fidelity")

from ganforge.errors import ConfigError  # noqa: E402
from ganforge.metrics import fidelity  # noqa: E402
from ganforge.metrics.classifier import FashionClassifier  # noqa: E402

N = 200


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """A seeded, untrained classifier saved as a weights file. He-initialised, so that its features are of
    order 1 (PyTorch's default initialisation shrinks them layer by layer to ~1e-3)."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = FashionClassifier()
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("classifier") / "random_cnn.safetensors"
    save_file(model.state_dict(), str(path))
    return str(path)


def blobs(n: int, seed: int, brightness: float) -> torch.Tensor:
    """`[n, 1, 32, 32]` images in [-1, 1]: smooth random blobs (8x8 noise upsampled), shifted by `brightness`."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 8, 8, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
    return (2 * x - 1 + brightness).clamp(-1, 1)


def extractor_features(images: torch.Tensor, weights: str) -> np.ndarray:
    """The 128-d features the "ganforge-fmnist" extractor gives torch-fidelity for `images`, float64."""
    extractor = fidelity._fmnist_extractor_class()("ganforge-fmnist", ["128"], feature_extractor_weights_path=weights)
    batch = torch.stack([fidelity.ImageTensorDataset(images)[i] for i in range(len(images))])
    with torch.no_grad():
        (features,) = extractor.eval()(batch)
    return features.double().numpy()


def unbiased_mmd2_cubic(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with KID's kernel k(a, b) = (a.b / d + 1)^3, by hand."""
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())


def test_fid_and_kid_match_ganforges_own_on_the_same_features(weights):
    from ganforge.metrics.frechet import frechet_distance_from_features
    from ganforge.metrics.kernel import kernel_distance

    real, fake = blobs(N, seed=1, brightness=0.0), blobs(N, seed=2, brightness=0.3)
    scores = fidelity.fidelity_metrics(real, fake, feature_extractor="ganforge-fmnist", weights_path=weights)
    assert set(scores) == {"ganforge_fmnist_" + k for k in ("is", "is_std", "fid", "kid", "kid_std")}

    f_real, f_fake = extractor_features(real, weights), extractor_features(fake, weights)
    expected_fid = frechet_distance_from_features(f_real, f_fake)
    assert expected_fid > 0.01
    assert scores["ganforge_fmnist_fid"] == pytest.approx(expected_fid, rel=1e-3)

    # subsets of all N samples: every KID subset is the whole set, so KID is the full-set unbiased MMD^2
    expected_kid = unbiased_mmd2_cubic(f_fake, f_real)
    assert scores["ganforge_fmnist_kid"] == pytest.approx(expected_kid, rel=1e-3)
    assert kernel_distance(f_real, f_fake)[0] == pytest.approx(expected_kid, rel=1e-9)
    assert scores["ganforge_fmnist_kid_std"] == pytest.approx(0, abs=1e-5 * abs(expected_kid))

    assert np.isfinite(scores["ganforge_fmnist_is"]) and scores["ganforge_fmnist_is"] >= 1

    # torch-fidelity's batching does not change the result
    other = fidelity.fidelity_metrics(real, fake, feature_extractor="ganforge-fmnist", weights_path=weights,
                                      isc=False, kid=False, batch_size=37)
    assert other == {"ganforge_fmnist_fid": pytest.approx(scores["ganforge_fmnist_fid"], rel=1e-5)}


def test_identical_sets_are_at_fid_zero(weights):
    real = blobs(N, seed=1, brightness=0.0)
    different = fidelity.fidelity_metrics(real, blobs(N, seed=2, brightness=0.3), feature_extractor="ganforge-fmnist",
                                          weights_path=weights, isc=False, kid=False)["ganforge_fmnist_fid"]
    same = fidelity.fidelity_metrics(real, real.clone(), feature_extractor="ganforge-fmnist", weights_path=weights,
                                     isc=False, kid=False)["ganforge_fmnist_fid"]
    assert abs(same) < 1e-4 * different


def test_rgb_and_grayscale_inputs_agree(weights):
    gray = blobs(40, seed=3, brightness=0.0)
    other = blobs(40, seed=4, brightness=-0.2)
    a = fidelity.fidelity_metrics(gray, other, feature_extractor="ganforge-fmnist", weights_path=weights)
    b = fidelity.fidelity_metrics(gray.repeat(1, 3, 1, 1), other, feature_extractor="ganforge-fmnist",
                                  weights_path=weights)
    assert a == pytest.approx(b, rel=1e-5, abs=1e-9)


def test_registering_twice_is_harmless():
    fidelity.register_fmnist_extractor()
    fidelity.register_fmnist_extractor()
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    assert FEATURE_EXTRACTORS_REGISTRY["ganforge-fmnist"] is fidelity._fmnist_extractor_class()


def test_without_torch_fidelity_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    x = blobs(4, seed=0, brightness=0.0)
    with pytest.raises(ConfigError, match=r"pip install ganforge\[inception\]"):
        fidelity.fidelity_metrics(x, x)
    with pytest.raises(ConfigError, match=r"ganforge\[inception\]"):
        fidelity.register_fmnist_extractor()


def test_missing_inception_weights_file_is_a_config_error(tmp_path, monkeypatch):
    x = blobs(4, seed=0, brightness=0.0)
    missing = str(tmp_path / "inception.pth")
    with pytest.raises(ConfigError, match="inception.pth"):
        fidelity.fidelity_metrics(x, x, weights_path=missing)
    monkeypatch.setenv(fidelity.WEIGHTS_ENV, missing)  # the registered metric reads its weights from here
    with pytest.raises(ConfigError, match="inception.pth"):
        fidelity.inception(types.SimpleNamespace(real=x, fake=x, seed=0))


def test_failed_inception_download_says_to_pass_local_weights(monkeypatch):
    import torch_fidelity.feature_extractor_inceptionv3 as inception_v3

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(inception_v3, "load_state_dict_from_url", offline)
    x = blobs(4, seed=0, brightness=0.0)
    with pytest.raises(ConfigError, match="local weights file"):
        fidelity.fidelity_metrics(x, x)


def test_unknown_extractor_is_a_config_error():
    x = blobs(4, seed=0, brightness=0.0)
    with pytest.raises(ConfigError, match="inception-v3-compat"):
        fidelity.fidelity_metrics(x, x, feature_extractor="no-such-net")
