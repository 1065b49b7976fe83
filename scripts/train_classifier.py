"""Train the Fashion-MNIST classifier whose features the `*_fmnist` metrics use, and save its weights.

    python scripts/train_classifier.py [--epochs 5] [--seed 0] [--out src/ganforge/metrics/weights/fmnist_cnn.safetensors]

Seeded and CPU-deterministic; prints test accuracy per epoch and stores the final one, the seed and this
command in the safetensors metadata.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tqdm import tqdm

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.metrics.classifier import FashionClassifier, weights_path


@torch.no_grad()
def accuracy(model: FashionClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    correct = sum((model(x).argmax(1) == y).sum().item() for x, y in zip(images.split(1000), labels.split(1000)))
    model.train()
    return correct / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(weights_path()))
    args = parser.parse_args()

    train = build_dataset(DataConfig(name="fashion-mnist", split="train", resolution=32))
    test = build_dataset(DataConfig(name="fashion-mnist", split="test", resolution=32))
    test_x, _ = test.batch(torch.arange(len(test)))
    torch.manual_seed(args.seed)
    model = FashionClassifier()
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * (len(train) // args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=steps)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(train), generator=generator)
        batches = order[: len(order) // args.batch * args.batch].view(-1, args.batch)
        for index in tqdm(batches, desc=f"epoch {epoch + 1}", leave=False):
            x, y = train.batch(index)
            flip = torch.rand(len(x), generator=generator) < 0.5  # clothes are left-right symmetric
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
        test_accuracy = accuracy(model, test_x, test.labels)
        print(f"epoch {epoch + 1}: test accuracy {test_accuracy:.4f} ({time.perf_counter() - start:.0f} s)")
    metadata = {"test_accuracy": f"{test_accuracy:.4f}", "seed": str(args.seed), "epochs": str(args.epochs),
                "command": "python scripts/train_classifier.py " + " ".join(sys.argv[1:])}
    save_file(model.state_dict(), args.out, metadata=metadata)
    print(f"saved {args.out}: {metadata}")


if __name__ == "__main__":
    main()
