"""`ganforge ablate`: the grid, its resumability, and the summary against numpy."""
import json
import shlex

import numpy as np
import pytest

from ganforge.ablation import Variant, parse_grid, run_ablation
from ganforge.cli import main
from ganforge.errors import ConfigError

from .runs import toy_overrides


def test_grid_is_named_variants_times_the_product_of_varied_values():
    grid = parse_grid(["loss.real_label=1.0,0.9", "model.pack=1,2"], ["plain:", "unrolled: train.unroll=2"])
    assert len(grid) == 8
    assert grid[0] == Variant("plain, loss.real_label=1.0, model.pack=1", ("loss.real_label=1.0", "model.pack=1"))
    assert grid[-1].overrides == ("train.unroll=2", "loss.real_label=0.9", "model.pack=2")
    assert parse_grid() == [Variant("base", ())]


@pytest.mark.parametrize("vary, variant", [(["loss.real_label"], []), (["a="], []), ([], ["no colon"])])
def test_bad_grid_syntax(vary, variant):
    with pytest.raises(ConfigError):
        parse_grid(vary, variant)


def test_a_typo_fails_before_any_run_directory_exists(tmp_path):
    with pytest.raises(ConfigError, match="did you mean"):
        run_ablation(None, toy_overrides(tmp_path), parse_grid(["model.pakc=1,2"]), 2, tmp_path / "abl",
                     progress=False)
    assert not (tmp_path / "abl").exists()


def test_grid_runs_summary_resume_and_picture(tmp_path, monkeypatch):
    out = tmp_path / "abl"
    overrides = toy_overrides(tmp_path, steps=30) + ["train.sample_every=10"]
    grid = parse_grid([], ["plain:", "pac2: model.pack=2"])
    summary = run_ablation(None, overrides, grid, 2, out, metrics="modes", n=500, progress=False)
    runs = {(v, s): json.loads((out / v / f"seed{s}" / "result.json").read_text())
            for v in ("plain", "pac2") for s in (0, 1)}
    for row, name in zip(summary.variants, ("plain", "pac2")):
        for key in ("modes", "high_quality"):
            values = [runs[name, s][key] for s in (0, 1)]
            assert row["mean"][key] == pytest.approx(np.mean(values))
            assert row["std"][key] == pytest.approx(np.std(values, ddof=1))
    assert json.loads((out / "ablation.json").read_text())["variants"][1]["name"] == "pac2"
    assert "| pac2 |" in (out / "ablation.md").read_text()
    assert (out / "ablation.png").stat().st_size > 1000

    # a second call trains nothing for scored runs, and scores a run whose result was lost
    (out / "pac2" / "seed1" / "result.json").unlink()
    trained = []
    monkeypatch.setattr("ganforge.runner.train", lambda *a, **k: trained.append(a))
    again = run_ablation(None, overrides, grid, 2, out, metrics="modes", n=500, progress=False)
    assert trained == []
    assert again.variants[1]["runs"][1] == runs["pac2", 1]  # the same checkpoint scores the same


def test_a_directory_of_another_run_is_refused(tmp_path):
    out = tmp_path / "abl"
    run_ablation(None, toy_overrides(tmp_path, steps=10), parse_grid(), 1, out, metrics="modes", n=100,
                 progress=False)
    with pytest.raises(ConfigError, match="different run"):
        run_ablation(None, toy_overrides(tmp_path, steps=20), parse_grid(), 1, out, metrics="modes", n=100,
                     progress=False)


def test_parallel_jobs_give_the_sequential_results(tmp_path):
    overrides = toy_overrides(tmp_path, steps=20)
    grid = parse_grid(["model.pack=1,2"])
    one = run_ablation(None, overrides, grid, 1, tmp_path / "a", metrics="modes", n=200, progress=False)
    two = run_ablation(None, overrides, grid, 1, tmp_path / "b", metrics="modes", n=200, jobs=2, progress=False)
    assert [v["runs"] for v in one.variants] == [v["runs"] for v in two.variants]


def test_cli_prints_the_table(tmp_path, capsys):
    code = main(["ablate", "toy_ring", *toy_overrides(tmp_path, steps=10), "--vary", "loss.real_label=1.0,0.9",
                 "--variant", "GAN, plain:", "--seeds", "1", "--metrics", "modes", "--n", "100",
                 "--out", str(tmp_path / "abl")])
    out = capsys.readouterr().out
    assert code == 0 and "| GAN, plain, loss.real_label=0.9 |" in out and "ablation.png" in out
    recorded = (tmp_path / "abl" / "ablation.md").read_text().splitlines()[0]
    # quoted so that it can be pasted back into a shell
    assert "--vary loss.real_label=1.0,0.9 --variant 'GAN, plain:'" in recorded
    assert main(["ablate", "toy_ring", "--seeds", "0", "--out", str(tmp_path / "x")]) == 2


def test_table_takes_every_variants_keys():
    from ganforge.ablation import Summary, format_table

    summary = Summary([{"name": "a", "mean": {"x": 1.0}, "std": {"x": 0.0}},
                       {"name": "b", "mean": {"x": 2.0, "y": 3.0}, "std": {"x": 0.5, "y": 0.0}}])
    table = format_table(summary)
    assert "| variant | x | y |" in table and "| a | 1 ± 0 | - |" in table and "| b | 2 ± 0.5 | 3 ± 0 |" in table


def test_comparison_picture_keeps_wide_pictures_whole(tmp_path):
    from PIL import Image

    from ganforge.ablation import save_comparison_picture

    samples = tmp_path / "v" / "seed0" / "samples"
    samples.mkdir(parents=True)
    Image.new("RGB", (600, 100), "red").save(samples / "step_0000010.png")
    picture = Image.open(save_comparison_picture([Variant("v", ())], tmp_path, height=100))
    assert picture.size == (160 + 600, 100 + 16)
    assert picture.getpixel((160 + 599, 16 + 99)) == (255, 0, 0)  # the right end survived


def test_an_interrupted_run_continues_from_its_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C inside a run leaves a checkpoint; the same ablate command resumes that run, not restarts it,
    and scores what an uninterrupted run scores."""
    import torch

    from ganforge.engine.checkpoint import load_checkpoint
    from ganforge.engine.loop import CHECKPOINT
    from ganforge.engine.training import Training
    from ganforge.errors import Interrupted

    out = tmp_path / "abl"
    overrides = toy_overrides(tmp_path, steps=30) + ["train.ckpt_every=10"]
    grid = parse_grid([], ["plain:"])
    original = Training.train_step

    def stop_at_step_12(self):
        if self.step == 12:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Training, "train_step", stop_at_step_12)
    with pytest.raises(Interrupted, match="--resume"):
        run_ablation(None, overrides, grid, 1, out, metrics="modes", n=500, progress=False)
    monkeypatch.setattr(Training, "train_step", original)
    steps_run = []
    monkeypatch.setattr(Training, "train_step", lambda self: steps_run.append(self.step) or original(self))
    summary = run_ablation(None, overrides, grid, 1, out, metrics="modes", n=500, progress=False)
    assert steps_run == list(range(12, 30))
    whole = run_ablation(None, overrides, grid, 1, tmp_path / "whole", metrics="modes", n=500, progress=False)
    assert summary.variants[0]["runs"] == whole.variants[0]["runs"]
    resumed, uninterrupted = (load_checkpoint(o / "plain" / "seed0" / CHECKPOINT)["generator"]
                              for o in (out, tmp_path / "whole"))
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)  # the same G, bit for bit


def test_printed_commands_train_the_grid_and_summarise_scores_it_like_ablate(tmp_path, capsys):
    common = [*toy_overrides(tmp_path, steps=10), "--vary", "model.pack=1,2", "--seeds", "1", "--metrics", "modes",
              "--n", "100"]
    out = tmp_path / "cluster"
    assert main(["ablate", "toy_ring", *common, "--out", str(out), "--print-commands"]) == 0
    commands = capsys.readouterr().out.splitlines()
    assert len(commands) == 2 and all(c.startswith("ganforge train toy_ring ") for c in commands)
    assert not out.exists()  # printing trains nothing

    assert main(["ablate", "toy_ring", *common, "--out", str(out), "--summarise"]) == 2
    assert "2 of 2 runs are not finished" in capsys.readouterr().err

    for command in commands:  # what each job of a scheduler's array would run
        assert main(shlex.split(command)[1:]) == 0
    capsys.readouterr()
    assert main(["ablate", "toy_ring", *common, "--out", str(out), "--print-commands"]) == 0
    assert capsys.readouterr().out == ""  # nothing left to do
    assert main(["ablate", "toy_ring", *common, "--out", str(out), "--summarise"]) == 0
    assert "| model.pack=2 |" in capsys.readouterr().out

    local = tmp_path / "local"
    assert main(["ablate", "toy_ring", *common, "--out", str(local)]) == 0
    by_scheduler, by_ablate = (json.loads((o / "ablation.json").read_text())["variants"] for o in (out, local))
    assert [v["runs"] for v in by_scheduler] == [v["runs"] for v in by_ablate]


def test_printed_command_of_a_stopped_run_resumes_it(tmp_path, capsys, monkeypatch):
    from ganforge.engine.training import Training

    common = [*toy_overrides(tmp_path, steps=10), "--seeds", "1"]
    out = tmp_path / "cluster"
    assert main(["ablate", "toy_ring", *common, "--out", str(out), "--print-commands"]) == 0
    (command,) = capsys.readouterr().out.splitlines()
    original = Training.train_step

    def stop_at_step_4(self):  # as a scheduler's preemption would
        if self.step == 4:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Training, "train_step", stop_at_step_4)
    assert main(shlex.split(command)[1:]) == 130
    monkeypatch.setattr(Training, "train_step", original)
    capsys.readouterr()
    assert main(["ablate", "toy_ring", *common, "--out", str(out), "--print-commands"]) == 0
    assert capsys.readouterr().out.split() == ["ganforge", "train", "--resume", str(out / "base" / "seed0")]


def test_ablation_runs_honour_eval_settings(tmp_path):
    """`eval.*` reaches every run of the grid (they train through `ganforge.runner.train`)."""
    overrides = toy_overrides(tmp_path, steps=20) + ["eval.every=10", "eval.metrics=modes", "eval.n=100",
                                                     "eval.best=high_quality"]
    run_ablation(None, overrides, parse_grid(["model.pack=1,2"]), 1, tmp_path / "abl", metrics="modes",
                 n=100, progress=False)
    runs = sorted((tmp_path / "abl").glob("*/seed0"))
    assert len(runs) == 2
    for run in runs:
        steps = [json.loads(line).get("step") for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert steps[:2] == [10, 20]  # then the final scoring by `evaluate_checkpoint`
        assert (run / "best.pt").is_file()
