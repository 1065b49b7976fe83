"""The registered metrics: each adapts an `EvalContext` to the pure functions of one metric module."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from ..data.toy import TOY_SAMPLES, mode_centres, mode_std
from ..errors import ConfigError
from .base import register_metric
from .context import EvalContext
from .fidelity import inception
from .frechet import frechet_distance_from_features
from .kernel import kernel_distance
from .modes import mode_coverage
from .msssim import msssim_diversity
from .optimal_d import discriminator_gap
from .parzen import parzen_evaluation
from .prdc import precision_recall
from .swd import sliced_wasserstein

PARZEN_VALIDATION = 1000
MSSSIM_PAIRS = 10_000  # AC-GAN / PGGAN: mean MS-SSIM over 10k random pairs
SWD_MIN_SIDE = 16      # PGGAN's coarsest pyramid level


@register_metric("fd_fmnist", "image", "Frechet distance of Fashion-MNIST classifier features (FID-style)",
                 keys=("fd_fmnist",))
def fd_fmnist(context: EvalContext) -> dict[str, float]:
    real, _ = context.real_classified
    fake, _ = context.fake_classified
    with warnings.catch_warnings():
        # scipy's sqrtm warns "Matrix is singular" whenever a feature never varies (a ReLU unit that fires
        # for no sample) or n does not exceed the feature width: the covariances are then singular by
        # construction. The value is still the one FID's reference code reports, and frechet_distance itself
        # retries a non-finite root and refuses a significant imaginary part, so the warning adds nothing.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return {"fd_fmnist": frechet_distance_from_features(real, fake)}


@register_metric("kd_fmnist", "image", "kernel (MMD^2, cubic polynomial) distance of classifier features (KID)",
                 keys=("kd_fmnist", "kd_fmnist_std"))
def kd_fmnist(context: EvalContext) -> dict[str, float]:
    real, _ = context.real_classified
    fake, _ = context.fake_classified
    mean, std = kernel_distance(real, fake, seed=context.seed)
    return {"kd_fmnist": mean, "kd_fmnist_std": std}


@register_metric("pr_fmnist", "image", "improved precision and recall, k=3 (Kynkaanniemi et al. 2019)",
                 keys=("precision", "recall"), higher=("precision", "recall"))
def pr_fmnist(context: EvalContext) -> dict[str, float]:
    real, _ = context.real_classified
    fake, _ = context.fake_classified
    precision, recall = precision_recall(real, fake)
    return {"precision": precision, "recall": recall}


@register_metric("classes", "image", "classifier's class histogram of samples: classes covered, KL to data",
                 keys=("classes_covered", "class_kl"), higher=("classes_covered",))
def class_coverage(context: EvalContext) -> dict[str, float]:
    """A class is covered when at least 1% of samples are classified into it. KL(p_samples || p_data) over
    the classifier's predictions on samples and on real data (the same classifier on both, so its own
    confusions cancel out to first order)."""
    _, fake = context.fake_classified
    _, real = context.real_classified
    classes = max(int(real.max()), int(fake.max())) + 1
    p_fake = np.bincount(fake, minlength=classes) / len(fake)
    p_real = np.bincount(real, minlength=classes) / len(real)
    support = p_fake > 0
    kl = float(np.sum(p_fake[support] * np.log(p_fake[support] / np.maximum(p_real[support], 1e-12))))
    return {"classes_covered": float(np.sum(p_fake >= 0.01)), "class_kl": kl}


@register_metric("class_match", "image", "share of a conditional G's samples the classifier puts in the class "
                 "asked for", keys=("class_match",), higher=("class_match",), conditional=True)
def class_match(context: EvalContext) -> dict[str, float]:
    """Labels are asked for in equal numbers; the classifier (92% accurate on real test images) judges each
    sample, so about 0.92 is what real images of the asked class would score."""
    asked = context.fake_labels
    if asked is None:
        raise ConfigError("class_match needs a class-conditional generator (model.g_label concat or cbn)")
    _, predicted = context.fake_classified
    return {"class_match": float(np.mean(predicted == asked.numpy()))}


def swd_unfit(shape: tuple[int, ...]) -> str:
    """SWD's pyramid halves the image down to 16x16, so the side must be a power of two from 16 up."""
    side = shape[-1]
    if shape[-2] == side and side >= SWD_MIN_SIDE and not side & (side - 1):
        return ""
    return f"SWD needs square images with a power-of-two side of at least {SWD_MIN_SIDE}, these are " \
           f"{shape[-2]}x{side}"


@register_metric("swd", "image", "sliced Wasserstein distance of Laplacian-pyramid patches x1e3 (PGGAN)",
                 keys=("swd",), unfit=swd_unfit)
def swd(context: EvalContext) -> dict[str, float]:
    try:
        return sliced_wasserstein(context.real, context.fake, seed=context.seed, min_resolution=SWD_MIN_SIDE)
    except ValueError as exc:
        raise ConfigError(f"swd: {exc}") from None


@register_metric("msssim", "image", "mean MS-SSIM of random sample pairs, lower = more diverse (AC-GAN)",
                 keys=("msssim", "msssim_real"))
def msssim(context: EvalContext) -> dict[str, float]:
    return {"msssim": msssim_diversity(context.fake, pairs=MSSSIM_PAIRS, seed=context.seed),
            "msssim_real": msssim_diversity(context.real, pairs=MSSSIM_PAIRS, seed=context.seed)}


@register_metric("parzen", "image", "Parzen-window log-likelihood of test images, pixels in [0, 1] "
                 "(Goodfellow et al. 2014)", keys=("parzen_ll", "parzen_se", "parzen_sigma"), higher=("parzen_ll",),
                 opt_in=True)
def parzen(context: EvalContext) -> dict[str, float]:
    """Bandwidth chosen on 1,000 training images, log-likelihood of up to n test images, on [0, 1] pixels."""
    def flat01(x):
        return ((x.flatten(1) + 1) / 2).numpy()

    validation = context.draw(context.real_dataset, PARZEN_VALIDATION, offset=1)
    test = context.draw(context.test_dataset, min(context.n, len(context.test_dataset)), offset=2)
    return parzen_evaluation(flat01(context.fake), flat01(validation), flat01(test))


@register_metric("modes", "points", "modes captured, high-quality share, reverse KL (PacGAN, 2,500 samples)",
                 keys=("modes", "high_quality", "reverse_kl"), higher=("modes", "high_quality"))
def modes(context: EvalContext) -> dict[str, float]:
    samples = context.fake[:TOY_SAMPLES]
    return mode_coverage(samples, mode_centres(context.data), mode_std(context.data))


@register_metric("d_gap", "1d", "distance of the learned D(x) from D* = p_data / (p_data + p_g)",
                 keys=("d_gap_mean", "d_gap_max"))
def d_gap(context: EvalContext) -> dict[str, float]:
    if context.discriminator is None:
        raise ConfigError("d_gap needs the run's discriminator: evaluate a checkpoint, not a bare generator")
    return discriminator_gap(context.discriminator, context.real, context.fake)


register_metric("inception", "image", "IS, FID, KID with torch-fidelity's Inception-v3 "
                "(pip install ganforge[inception]; offline: $GANFORGE_INCEPTION_WEIGHTS)",
                keys=("is", "is_std", "fid", "kid", "kid_std"), higher=("is",), opt_in=True)(inception)
