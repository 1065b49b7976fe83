"""A plain hand-written PyTorch GAN training loop, independent of ganforge's engine, as a yardstick.

It follows the reference PyTorch DCGAN example: one fake batch per iteration, D on real then on the
detached fake, then G through D on the same fake, with the non-saturating cross-entropy loss and Adam.
`PlainLoop` runs it on any G and D (ganforge's own networks, so the engine is compared with a plain loop
of the same networks); `PlainDCGAN` on hand-written DCGAN networks, the same architecture as ganforge's
`dcgan` family at 32x32 (64 channels, z of 100).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def plain_generator(z_dim: int = 100, width: int = 64, channels: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(z_dim, width * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(width * 4), nn.ReLU(True),
        nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.ReLU(True),
        nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
        nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh(),
    )


def plain_discriminator(width: int = 64, channels: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(width * 4, 1, 4, 1, 0, bias=False),
    )


def init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class PlainLoop:
    """State of the plain loop; `step(real)` is `n_dis` D updates and one G update on a real batch in
    [-1, 1]. With `gp` > 0, D's loss adds the WGAN-GP penalty (Gulrajani et al. 2017) written out here, so
    families trained with a penalty are compared with a loop that computes one too."""

    def __init__(self, G: nn.Module, D: nn.Module, latent: Callable[[int], torch.Tensor], n_dis: int = 1,
                 gp: float = 0.0, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)) -> None:
        self.G, self.D, self.latent, self.n_dis, self.gp = G, D, latent, n_dis, gp
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)

    def step(self, real: torch.Tensor) -> None:
        n = real.shape[0]
        ones, zeros = torch.ones(n, device=real.device), torch.zeros(n, device=real.device)
        for _ in range(self.n_dis):
            fake = self.G(self.latent(n))
            self.D.zero_grad()
            d_loss = (F.binary_cross_entropy_with_logits(self.D(real).view(-1), ones)
                      + F.binary_cross_entropy_with_logits(self.D(fake.detach()).view(-1), zeros))
            if self.gp:
                e = torch.rand(n, 1, 1, 1, device=real.device)
                between = (e * real + (1 - e) * fake.detach()).requires_grad_(True)
                (grad,) = torch.autograd.grad(self.D(between).sum(), between, create_graph=True)
                d_loss = d_loss + self.gp * (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
            d_loss.backward()
            self.opt_d.step()
        self.G.zero_grad()
        g_loss = F.binary_cross_entropy_with_logits(self.D(fake).view(-1), ones)
        g_loss.backward()
        self.opt_g.step()

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        self.G.eval()
        images = self.G(self.latent(n))
        self.G.train()
        return images


class PlainDCGAN(PlainLoop):
    """The plain loop on hand-written DCGAN networks, initialised as the DCGAN paper says."""

    def __init__(self, z_dim: int = 100, width: int = 64, channels: int = 1, seed: int = 0) -> None:
        torch.manual_seed(seed)
        G, D = plain_generator(z_dim, width, channels), plain_discriminator(width, channels)
        G.apply(init_weights)
        D.apply(init_weights)
        super().__init__(G, D, lambda n: torch.randn(n, z_dim, 1, 1))
        self.z_dim = z_dim
