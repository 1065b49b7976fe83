"""Parzen-window log-likelihood (Goodfellow et al. 2014, Table 1, following Breuleux et al. 2011).

An isotropic Gaussian kernel density estimate is fitted on generated samples, its bandwidth chosen by the
mean log-likelihood of held-out real data, and the mean log-likelihood of test data is reported with its
standard error. The estimate is known to be poor in high dimensions (Theis et al. 2016); it is here to
reproduce the GAN paper's table, not to rank models.

Scale: inputs are expected with pixels in [0, 1], as in the paper (MNIST 225 +- 2). Multiplying pixels by
a shifts the value by -F log(a), and the default bandwidth grid assumes [0, 1], so results on other scales
are not comparable with the paper.
"""
from __future__ import annotations

import math

import numpy as np
import torch

SIGMAS = np.logspace(-1, 0, 10)  # the GAN paper's parzen_ll.py defaults: sigma_start=-1, sigma_end=0, 10 values
BATCH_SIZE = 1000


def _as_rows(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """`[N, ...]` -> float64 `[N, F]`.

    float64 throughout: in float32 the cancellation in ||x||^2 + ||s||^2 - 2 x.s moves 1024-dim values by up
    to 0.01 nats, and float32 saves little time on CPU, where the logsumexp, not the matmul, dominates.
    """
    x = torch.as_tensor(x).detach().cpu().to(torch.float64)
    return x.reshape(len(x), -1)


def _log_kernel_sums(samples: torch.Tensor, data: torch.Tensor, sigmas: torch.Tensor,
                     batch_size: int) -> torch.Tensor:
    """logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) `[S, M]` for sigmas `[S]`, data `[M, F]`, samples `[N, F]`.

    Works on `batch_size` x `batch_size` blocks of data and samples, so memory is S * batch_size^2 whatever
    N and M; each block's squared distances are computed once and shared by all sigmas.
    """
    scale = -0.5 / sigmas[:, None, None] ** 2  # [S, 1, 1]
    sample_sq = samples.square().sum(1)
    rows = []
    for start in range(0, len(data), batch_size):
        x = data[start:start + batch_size]
        x_sq = x.square().sum(1, keepdim=True)
        blocks = []
        for first in range(0, len(samples), batch_size):
            s = samples[first:first + batch_size]
            sq_dist = torch.addmm(sample_sq[first:first + batch_size], x, s.T, alpha=-2)  # [b, c]
            sq_dist = sq_dist.add_(x_sq).clamp_min_(0)
            blocks.append(torch.logsumexp(scale * sq_dist, dim=2))  # [S, b]
        rows.append(torch.logsumexp(torch.stack(blocks, dim=2), dim=2))
    return torch.cat(rows, dim=1)


def _log_likelihoods(samples: torch.Tensor, data: torch.Tensor, sigmas: np.ndarray,
                     batch_size: int) -> np.ndarray:
    """Per-point log-likelihood `[S, M]` of data under the KDE of samples, for every sigma in `sigmas` `[S]`."""
    if samples.shape[1] != data.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features but data has {data.shape[1]}")
    sigma = torch.as_tensor(np.asarray(sigmas, dtype=np.float64))
    if len(samples) == 0 or len(data) == 0 or not bool((sigma > 0).all()):
        raise ValueError("need at least one sample and one data point, and every sigma > 0")
    features = samples.shape[1]
    log_norm = math.log(len(samples)) + 0.5 * features * torch.log(2 * math.pi * sigma.square())  # [S]
    return (_log_kernel_sums(samples, data, sigma, batch_size) - log_norm[:, None]).numpy()


def parzen_log_likelihood(samples: torch.Tensor | np.ndarray, data: torch.Tensor | np.ndarray, sigma: float,
                          batch_size: int = BATCH_SIZE) -> np.ndarray:
    """log p(x) `[M]` of each data point `[M, ...]` under the Gaussian KDE of samples `[N, ...]`.

    log p(x) = logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) - log N - F/2 log(2 pi sigma^2), F features per
    point (inputs are flattened). The result does not depend on `batch_size` beyond float64 rounding.
    """
    return _log_likelihoods(_as_rows(samples), _as_rows(data), np.array([sigma]), batch_size)[0]


def select_bandwidth(samples: torch.Tensor | np.ndarray, validation: torch.Tensor | np.ndarray,
                     sigmas: np.ndarray | None = None, batch_size: int = BATCH_SIZE) -> float:
    """The sigma of `sigmas` (default `SIGMAS`, for [0, 1] pixels) maximising mean validation log-likelihood.

    A choice at either end of the grid means the grid should be widened.
    """
    grid = SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    scores = _log_likelihoods(_as_rows(samples), _as_rows(validation), grid, batch_size).mean(axis=1)
    return float(grid[int(np.argmax(scores))])


def parzen_evaluation(samples: torch.Tensor | np.ndarray, validation: torch.Tensor | np.ndarray,
                      test: torch.Tensor | np.ndarray, sigmas: np.ndarray | None = None,
                      batch_size: int = BATCH_SIZE) -> dict[str, float]:
    """Bandwidth chosen on `validation`, then mean test log-likelihood and its standard error.

    samples `[N, ...]` (the paper: 10,000 generated), validation `[V, ...]` (1,000 real training images),
    test `[M, ...]`, all flattened, pixels in [0, 1]. The standard error is std / sqrt(M) with ddof=0, as in
    the paper's code. Returns {"parzen_ll", "parzen_se", "parzen_sigma"}.
    """
    sigma = select_bandwidth(samples, validation, sigmas, batch_size)
    ll = parzen_log_likelihood(samples, test, sigma, batch_size)
    return {"parzen_ll": float(ll.mean()), "parzen_se": float(ll.std() / math.sqrt(len(ll))),
            "parzen_sigma": sigma}
