"""Small layers that let D see more than one sample or the label: packing, label input, minibatch discrimination."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN: join each run of `m` consecutive samples into one along the channel (or feature) axis,
    `[N, C, ...]` -> `[N/m, m*C, ...]`."""
    if len(x) % m:
        raise ValueError(f"a batch of {len(x)} cannot be packed in groups of {m}")
    return x.reshape(len(x) // m, m * x.shape[1], *x.shape[2:])


def join_label(x: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mirza & Osindero: append the one-hot label to a vector, or as constant planes to an image."""
    one_hot = F.one_hot(y, num_classes).to(x.dtype)
    if x.dim() == 4:
        one_hot = one_hot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, one_hot], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016, section 3.2: features `[N, A]` -> `[N, A + B]`.

    Each sample's features are projected to B rows of dimension C (M_i = f_i T); for each kernel b, the sample
    gets o_b(i) = sum over the other samples j of exp(-||M_i,b - M_j,b||_1). A collapsed generator makes all
    M_i alike, so o_b is large for its batches, which D learns to notice. The j = i term is always exp(0) = 1
    and is left out.
    """

    def __init__(self, in_features: int, kernels: int, kernel_dim: int) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.02)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(len(f), self.kernels, self.kernel_dim).transpose(0, 1)  # [B, N, C]
        # |M_i - M_j| summed by broadcasting rather than torch.cdist, whose backward has no derivative of
        # its own: gradient penalties (reg.gp, reg.r1) differentiate D's gradient again
        l1 = (m.unsqueeze(2) - m.unsqueeze(1)).abs().sum(3)                            # [B, N, N]
        closeness = torch.exp(-l1).sum(2).transpose(0, 1) - 1.0                        # [N, B], without j = i
        return torch.cat([f, closeness], dim=1)
