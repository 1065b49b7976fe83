import math

import pytest
import torch

from ganforge.latent import interpolation_rows, lerp, slerp


def test_slerp_of_orthogonal_unit_vectors_at_half():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(slerp(a, b, 0.5), torch.tensor([1.0, 1.0]) / math.sqrt(2))


def test_slerp_follows_the_arc_by_hand():
    """For unit vectors at angle w, slerp(t) has unit norm and makes angle t*w with a."""
    a = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([math.cos(2.0), math.sin(2.0), 0.0])
    point = slerp(a, b, 0.25)
    assert point.norm().item() == pytest.approx(1.0, abs=1e-6)
    assert torch.acos(point @ a).item() == pytest.approx(0.5, abs=1e-5)


def test_endpoints_are_exact_and_parallel_vectors_fall_back_to_lerp():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    torch.testing.assert_close(slerp(a, 2 * a, 0.5), 1.5 * a)
    torch.testing.assert_close(lerp(a, b, 0.25), 0.75 * a + 0.25 * b)


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_interpolation_rows(method):
    starts, ends = torch.randn(3, 5), torch.randn(3, 5)
    path = interpolation_rows(starts, ends, steps=4, method=method)
    assert path.shape == (12, 5)
    torch.testing.assert_close(path[0::4], starts)
    torch.testing.assert_close(path[3::4], ends)


def test_unknown_method_and_too_few_steps():
    with pytest.raises(ValueError, match="known: slerp, lerp"):
        interpolation_rows(torch.zeros(1, 2), torch.ones(1, 2), 3, method="cubic")
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolation_rows(torch.zeros(1, 2), torch.ones(1, 2), 1)
