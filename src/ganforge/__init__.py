"""ganforge: train, evaluate and compare generative adversarial networks."""

__version__ = "0.1.0"
