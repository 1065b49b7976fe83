"""`ganforge bench`: rows for the default, each switch and the plain loop; refusals kept as rows; ratios."""
import json

import pytest
import torch

from ganforge.bench import DEFAULT, PLAIN, bench, matmul_peak
from ganforge.cli import main
from ganforge.config import make_config
from ganforge.plain_loop import PlainDCGAN

from .runs import image_overrides


def test_bench_measures_each_switch_against_the_default_and_the_plain_loop(tiny_images, tmp_path):
    config = make_config({}, image_overrides(tiny_images, tmp_path))
    result = bench(config, "tiny", steps=2, rounds=1, warmup=1, switches=["adam=foreach", "compile=cudagraphs"])
    rows = {row.name: row for row in result.rows}
    assert list(rows) == [DEFAULT, "adam=foreach", "compile=cudagraphs", PLAIN]
    assert rows["compile=cudagraphs"].error.startswith("refused: train.compile=reduce-overhead")
    assert rows["compile=cudagraphs"].train_images_per_s is None
    for name in (DEFAULT, "adam=foreach", PLAIN):
        assert rows[name].train_images_per_s > 0 and rows[name].sample_images_per_s > 0
    table = {row["name"]: row for row in result.to_dict()["rows"]}
    assert table[DEFAULT]["vs_default"] == 1.0 and table[PLAIN]["vs_plain"] == 1.0
    assert table["adam=foreach"]["vs_plain"] == pytest.approx(
        rows["adam=foreach"].train_images_per_s / rows[PLAIN].train_images_per_s)
    # a training step is G forward and backward and more, so at least three G forward passes per image
    assert result.train_flops_per_image >= 3 * result.sample_flops_per_image > 0
    assert "| adam=foreach |" in result.markdown() and "refused" in result.markdown()


def test_matmul_peak_is_a_plausible_rate():
    peak = matmul_peak(torch.device("cpu"), torch.float32)
    assert 1e8 < peak < 1e14  # between 0.1 GFLOP/s and 100 TFLOP/s on any CPU


def test_plain_dcgan_step_trains_its_networks():
    gan = PlainDCGAN(z_dim=8, width=4)
    before = [p.clone() for p in gan.G.parameters()]
    gan.step(torch.rand(4, 1, 32, 32) * 2 - 1)
    assert all(not torch.equal(a, b) for a, b in zip(before, gan.G.parameters()))
    assert gan.sample(3).shape == (3, 1, 32, 32)


def test_cli_bench_writes_json_and_refuses_an_unknown_switch(tiny_images, tmp_path, capsys):
    overrides = image_overrides(tiny_images, tmp_path)
    out = tmp_path / "bench.json"
    assert main(["bench", "dcgan_fashion", *overrides, "--steps", "1", "--rounds", "1", "--warmup", "1",
                 "--switch", "default", "--no-plain", "--json", str(out)]) == 0
    assert [row["name"] for row in json.loads(out.read_text())["rows"]] == [DEFAULT]
    assert "| default |" in capsys.readouterr().out
    assert main(["bench", "dcgan_fashion", *overrides, "--switch", "turbo"]) == 2
    assert "ganforge: error: unknown switch 'turbo'" in capsys.readouterr().err


def test_flop_count_matches_torch_and_works_through_a_gradient_penalty(tiny_images, tmp_path):
    from torch.utils.flop_counter import FlopCounterMode

    from ganforge.bench import _count_flops
    from ganforge.data import build_dataset
    from ganforge.engine.training import Training

    def training(extra):
        config = make_config({}, image_overrides(tiny_images, tmp_path) + extra)
        return Training(config, build_dataset(config.data), torch.device("cpu"))

    with FlopCounterMode(display=False) as counter:
        training([]).train_step()
    assert _count_flops(training([]).train_step) == counter.get_total_flops() > 0
    # FlopCounterMode's own module hooks fail inside autograd.grad; the penalty's passes add FLOPs
    assert _count_flops(training(["reg.gp=10", "model.d_norm=none"]).train_step) > counter.get_total_flops()
