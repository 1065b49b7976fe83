"""Statistics between flushes, and the JSONL log a resumed run rewinds."""
import json
import math

import torch

from ganforge.engine.stats import RunLog, Stats, first_non_finite, read_log, rewind_jsonl


def test_collect_gives_the_mean_per_name_since_the_last_collect():
    stats = Stats()
    stats.report("loss/d", torch.tensor([2.0]))
    stats.report("loss/d", 4.0)
    stats.report("acc", torch.tensor(0.25, requires_grad=True) * 2)
    assert stats.collect() == {"loss/d": 3.0, "acc": 0.5}
    assert stats.collect() == {}
    stats.report("loss/d", 1)
    assert stats.collect() == {"loss/d": 1.0}


def test_first_non_finite_names_the_bad_value():
    assert first_non_finite({"step": 3, "a": 1.0}) is None
    assert first_non_finite({"a": 1.0, "b": math.inf, "c": math.nan}) == "b"


def test_rewind_drops_records_after_the_checkpoint(tmp_path):
    log = RunLog(tmp_path, tensorboard=False)
    for step in (10, 20, 30):
        log.write({"step": step, "loss/d": step / 10})
    log.close()
    kept = rewind_jsonl(log.path, 20)
    assert [r["step"] for r in kept] == [10, 20] == [r["step"] for r in read_log(log.path)]
    assert json.loads(log.path.read_text().splitlines()[-1]) == {"step": 20, "loss/d": 2.0}
    assert rewind_jsonl(tmp_path / "missing.jsonl", 5) == [] and not (tmp_path / "missing.jsonl").exists()


def test_a_log_record_ignores_blank_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1}\n\n{"step": 2}\n')
    assert read_log(path) == [{"step": 1}, {"step": 2}]
