import torch
from torch import nn

from ganforge.engine.ema import EMA


def test_ema_update_matches_formula():
    model = nn.Linear(3, 2)
    ema = EMA(model, decay=0.9)
    start = [p.clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    for shadow, old, new in zip(ema.shadow.parameters(), start, model.parameters()):
        torch.testing.assert_close(shadow, 0.9 * old + 0.1 * new)
    assert not any(p.requires_grad for p in ema.shadow.parameters())


def test_ema_copies_batch_norm_statistics():
    model = nn.BatchNorm1d(4)
    ema = EMA(model, decay=0.99)
    model(torch.randn(8, 4) + 3.0)
    ema.update(model)
    assert torch.equal(ema.shadow.running_mean, model.running_mean)
