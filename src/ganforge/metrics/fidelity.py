"""The standard Inception metrics (IS, FID, KID) computed by torch-fidelity, an optional extra.

torch-fidelity (and the torchvision it needs) is imported only when a function here is called, so
`import ganforge.metrics.fidelity` works without it; a call without it raises `ConfigError` telling the user
to `pip install ganforge[inception]`. Images are handed over in memory: each `[N, C, H, W]` tensor in
[-1, 1] becomes a Dataset of uint8 `[3, H, W]` images, the input torch-fidelity's extractors expect.

`register_fmnist_extractor()` also makes ganforge's Fashion-MNIST classifier a torch-fidelity feature
extractor named "ganforge-fmnist" (128-d features for FID/KID, 10 class logits for IS), so the two
implementations can be checked against each other on the same features.
"""
from __future__ import annotations

import copy
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import ConfigError
from . import classifier

if TYPE_CHECKING:
    from .context import EvalContext

INCEPTION = "inception-v3-compat"
FMNIST = "ganforge-fmnist"
WEIGHTS_ENV = "GANFORGE_INCEPTION_WEIGHTS"
KID_SUBSET_SIZE = 1000   # KID's usual protocol (Binkowski et al. 2018): 100 subsets of 1,000 samples
ISC_SPLITS = 10          # IS's usual protocol (Salimans et al. 2016): mean and std over 10 splits

# torch-fidelity's result keys -> ganforge's
_KEYS = {
    "inception_score_mean": "is",
    "inception_score_std": "is_std",
    "frechet_inception_distance": "fid",
    "kernel_inception_distance_mean": "kid",
    "kernel_inception_distance_std": "kid_std",
}


def _torch_fidelity():
    try:
        import torch_fidelity
    except ImportError as exc:
        raise ConfigError(f"the Inception metrics need torch-fidelity ({exc}); "
                          f"install it with: pip install ganforge[inception]") from None
    return torch_fidelity


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images `[N, C, H, W]` in [-1, 1] -> uint8 `[N, C, H, W]`, quantised as ganforge writes PNGs."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class ImageTensorDataset(torch.utils.data.Dataset):
    """In-memory images `[N, C, H, W]` in [-1, 1] (C = 1 or 3) served as uint8 `[3, H, W]`, one channel
    repeated to three for grayscale."""

    def __init__(self, images: torch.Tensor) -> None:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ConfigError(f"the Inception metrics need images [N, 1 or 3, H, W], got {tuple(images.shape)}")
        self.images = to_uint8(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index]
        return image.repeat(3, 1, 1) if image.shape[0] == 1 else image


@lru_cache(maxsize=None)
def _fmnist_extractor_class() -> type:
    """The extractor class, built once (it subclasses torch-fidelity's base, imported lazily), so that
    registering it twice finds the same class."""
    from torch_fidelity import FeatureExtractorBase

    class FashionFeatureExtractor(FeatureExtractorBase):
        """ganforge's Fashion-MNIST classifier as a torch-fidelity extractor: uint8 `[N, 3, H, W]` -> "128"
        (features `[N, 128]`, for FID and KID) and "logits" (`[N, 10]`, for IS), float32.

        `feature_extractor_weights_path` is a classifier `.safetensors` file (None: the shipped one)."""

        def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                     **kwargs) -> None:
            super().__init__(name, features_list)
            # a copy: torch-fidelity may move or retrain-mode its extractor; the cached model stays intact
            self.model = copy.deepcopy(classifier.load_classifier(feature_extractor_weights_path))

        @staticmethod
        def get_provided_features_list() -> tuple[str, ...]:
            return str(classifier.FEATURES), "logits"

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return {"isc": "logits", "fid": str(classifier.FEATURES), "kid": str(classifier.FEATURES),
                    "prc": str(classifier.FEATURES)}[metric]

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        @staticmethod
        def get_dummy_input_for_compile() -> torch.Tensor:
            return torch.zeros(1, 3, classifier.RESOLUTION, classifier.RESOLUTION, dtype=torch.uint8)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
                raise ValueError(f"expected uint8 images [N, 3, H, W], got {x.dtype} {tuple(x.shape)}")
            features = self.model.features(classifier.to_classifier_input(x.float() / 127.5 - 1))
            out = {str(classifier.FEATURES): features, "logits": self.model.head(features)}
            return tuple(out[name].float() for name in self.features_list)

    return FashionFeatureExtractor


def register_fmnist_extractor() -> None:
    """Register ganforge's classifier with torch-fidelity as the feature extractor "ganforge-fmnist".
    Registering again is a no-op."""
    tf = _torch_fidelity()
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    cls = _fmnist_extractor_class()
    registered = FEATURE_EXTRACTORS_REGISTRY.get(FMNIST)
    if registered is cls:
        return
    if registered is not None:
        raise ConfigError(f"torch-fidelity already has a different feature extractor named {FMNIST!r}")
    tf.register_feature_extractor(FMNIST, cls)


def result_key(key: str, feature_extractor: str) -> str:
    """ganforge's name for result `key` ("is", "fid", ...): bare for Inception, else prefixed with the
    extractor's name, non-alphanumerics as "_" (e.g. "ganforge_fmnist_fid")."""
    return key if feature_extractor == INCEPTION else f"{re.sub(r'[^0-9a-zA-Z]+', '_', feature_extractor)}_{key}"


def fidelity_metrics(real: torch.Tensor, fake: torch.Tensor, feature_extractor: str = INCEPTION,
                     weights_path: str | None = None, isc: bool = True, fid: bool = True, kid: bool = True,
                     batch_size: int = 64, seed: int = 0) -> dict[str, float]:
    """IS of `fake`, FID and KID between `real` and `fake` (images `[N, C, H, W]` in [-1, 1], C = 1 or 3),
    computed by torch-fidelity on the CPU with its cache off.

    Returns {"is", "is_std", "fid", "kid", "kid_std"} (the ones asked for) for the Inception extractor;
    for another extractor each key is prefixed with its name (`result_key`). `weights_path` is a local
    weights file for the extractor: torch-fidelity's Inception `.pth` (else it is downloaded), or a classifier
    `.safetensors` for "ganforge-fmnist" (else the shipped one); torch-fidelity unpickles Inception weights
    (`torch.load(weights_only=False)`), so only pass a file you trust. KID uses subsets of min(1000, N) samples and
    IS min(10, N) splits, so small sets work too; `seed` seeds both.
    """
    tf = _torch_fidelity()
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if feature_extractor == FMNIST:
        register_fmnist_extractor()
    if feature_extractor not in FEATURE_EXTRACTORS_REGISTRY:
        raise ConfigError(f"unknown torch-fidelity feature extractor {feature_extractor!r}; choose from "
                          f"{', '.join(FEATURE_EXTRACTORS_REGISTRY)}")
    if not (isc or fid or kid):
        raise ConfigError("fidelity_metrics: ask for at least one of isc, fid, kid")
    if weights_path is not None and not Path(weights_path).is_file():
        raise ConfigError(f"feature extractor weights {weights_path} do not exist")
    if min(len(real), len(fake)) < 2:
        raise ConfigError(f"the Inception metrics need at least 2 images per set, got {len(real)} and {len(fake)}")

    options = dict(
        input1=ImageTensorDataset(fake), input2=ImageTensorDataset(real) if (fid or kid) else None,
        isc=isc, fid=fid, kid=kid, feature_extractor=feature_extractor,
        feature_extractor_weights_path=weights_path, batch_size=batch_size, rng_seed=seed,
        isc_splits=min(ISC_SPLITS, len(fake)), kid_subset_size=min(KID_SUBSET_SIZE, len(real), len(fake)),
        cuda=False, cache=False, verbose=False,
        save_cpu_ram=True,  # no DataLoader worker processes: the images are already in memory
    )
    try:
        results = tf.calculate_metrics(**options)
    except OSError as exc:  # urllib's URLError and socket errors are OSErrors
        if weights_path is not None:
            raise
        raise ConfigError(f"could not download the {feature_extractor} weights ({str(exc).splitlines()[0][:120]}); "
                          f"pass a local weights file (weights_path=, or ${WEIGHTS_ENV})") from None
    return {result_key(_KEYS[k], feature_extractor): float(v) for k, v in results.items() if k in _KEYS}


def inception(context: EvalContext) -> dict[str, float]:
    """IS, FID and KID with torch-fidelity's Inception-v3, weights from $GANFORGE_INCEPTION_WEIGHTS if set."""
    return fidelity_metrics(context.real, context.fake, weights_path=os.environ.get(WEIGHTS_ENV) or None,
                            seed=context.seed)
