import numpy as np
import pytest
from scipy.spatial.distance import cdist

from ganforge.metrics.prdc import precision_recall


def brute_force(real, fake, k=3):
    def radii(x):
        return np.sort(cdist(x, x), axis=1)[:, k]  # column 0 is the point itself

    precision = (cdist(fake, real) <= radii(real)[None, :]).any(1).mean()
    recall = (cdist(real, fake) <= radii(fake)[None, :]).any(1).mean()
    return precision, recall


def test_against_brute_force():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 5)), rng.normal(size=(250, 5)) * 1.3 + 0.4
    assert precision_recall(real, fake) == pytest.approx(brute_force(real, fake), abs=1e-12)
    assert precision_recall(real, fake, k=5) == pytest.approx(brute_force(real, fake, k=5), abs=1e-12)


def test_hand_built_cases():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(400, 4))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    two_clusters = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 50])
    one_cluster = rng.normal(size=(200, 2))
    precision, recall = precision_recall(two_clusters, one_cluster)
    assert precision > 0.95 and recall == pytest.approx(0.5, abs=0.05)


def test_chunk_size_does_not_change_the_result():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(123, 6)), rng.normal(size=(97, 6)) + 0.2
    assert precision_recall(real, fake, chunk=7) == precision_recall(real, fake, chunk=1000)
