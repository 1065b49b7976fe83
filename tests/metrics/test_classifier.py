"""The shipped Fashion-MNIST classifier: loads safely, and its recorded accuracy holds on real test data."""
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.errors import CheckpointError, DataError
from ganforge.metrics.classifier import classify, load_classifier, to_classifier_input, weights_metadata


def test_metadata_records_how_it_was_trained():
    meta = weights_metadata()
    assert float(meta["test_accuracy"]) >= 0.90
    assert meta["command"].startswith("python scripts/train_classifier.py") and "seed" in meta


def test_recorded_accuracy_holds_on_test_images():
    try:
        test = build_dataset(DataConfig(name="fashion-mnist", split="test"))
    except DataError:
        pytest.skip("Fashion-MNIST is not installed")
    x, y = test.batch(torch.arange(2000))
    features, predicted = classify(x)
    assert features.shape == (2000, 128) and features.dtype == torch.float64
    assert (predicted == y).float().mean().item() >= float(weights_metadata()["test_accuracy"]) - 0.02


def test_inputs_of_other_shapes_are_fitted():
    assert to_classifier_input(torch.zeros(2, 3, 64, 64)).shape == (2, 1, 32, 32)
    x = torch.rand(2, 1, 32, 32)
    assert torch.equal(to_classifier_input(x), x)


def test_classification_is_batch_size_independent():
    x = torch.rand(30, 1, 32, 32) * 2 - 1
    f1, l1 = classify(x, batch_size=7)
    f2, l2 = classify(x, batch_size=30)
    torch.testing.assert_close(f1, f2)
    assert torch.equal(l1, l2)


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(b"nonsense")
    with pytest.raises(CheckpointError, match="not usable classifier weights"):
        load_classifier(str(bad))
    with pytest.raises(CheckpointError, match="missing"):
        load_classifier(str(tmp_path / "none.safetensors"))
