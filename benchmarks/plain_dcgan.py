"""A plain hand-written PyTorch DCGAN training loop, independent of ganforge, as a yardstick.

It follows the reference PyTorch DCGAN example: one fake batch per iteration, D on real then on the
detached fake, then G through D on the same fake. The architecture is the same as ganforge's `dcgan`
family at 32x32 (64 channels, z of 100).
"""
from __future__ import annotations

import torch
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


class PlainDCGAN:
    """State of the plain loop; `step(real)` is one D and one G update on a real batch in [-1, 1]."""

    def __init__(self, z_dim: int = 100, width: int = 64, channels: int = 1, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.z_dim = z_dim
        self.G = plain_generator(z_dim, width, channels)
        self.D = plain_discriminator(width, channels)
        self.G.apply(init_weights)
        self.D.apply(init_weights)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = nn.BCEWithLogitsLoss()

    def step(self, real: torch.Tensor) -> None:
        n = real.shape[0]
        ones, zeros = torch.ones(n), torch.zeros(n)
        fake = self.G(torch.randn(n, self.z_dim, 1, 1))
        self.D.zero_grad()
        d_loss = self.criterion(self.D(real).view(-1), ones) + self.criterion(self.D(fake.detach()).view(-1), zeros)
        d_loss.backward()
        self.opt_d.step()
        self.G.zero_grad()
        g_loss = self.criterion(self.D(fake).view(-1), ones)
        g_loss.backward()
        self.opt_g.step()

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        self.G.eval()
        images = self.G(torch.randn(n, self.z_dim, 1, 1))
        self.G.train()
        return images
