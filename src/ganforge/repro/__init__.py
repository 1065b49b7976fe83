"""Reproductions of the seed papers' experiments: `ganforge repro NAME [--quick] [--budget SECONDS]`.

Each reproduction is one module that registers two functions. `run(out_dir, quick, budget) -> ReproResult`
measures: it trains, scores, writes its figures into `out_dir`, and returns its numbers beside the paper's,
whether its criterion held (`holds`) and the settings it ran with (`extra`). `table(result) -> [Setting]`
states the protocol: one row per setting the claim depends on, the paper's value with where the paper states
it, ours, and whether ours is the same, reduced or different. `run_repro` then judges (`decide`: the verdict
follows from the table, never from prose) and writes `results.json`.

A full protocol is the longest this project runs on its own machine; it is the paper's own only where its
table says so, row by row. `quick` is a reduced protocol (under a minute on 2 CPU cores) used by the tests:
it claims nothing.
"""
from __future__ import annotations

# the package's public names, defined in `base`
from .base import (DIFFERS, DOES_NOT, NOT_IN_FULL, NOT_STATED, NO_CLAIM, PROTOCOL_DIFFERS, QUICK, REDUCED,
                   REPRODUCES, REPROS, Repro, ReproResult, Row, Run, SAME, STATUSES, Setting, TABLE_HEADER,
                   Table, UNKNOWN, amount, budgeted, decide, default_out, device_name, judge_result,
                   load_result, percent, register_repro, run_repro, table_text, why_not)  # noqa: F401

# The registered reproductions: one module each. Keep this list the only place they are imported.
from . import (dcgan_features, dcgan_latent, gan1d, gan_parzen, mode_collapse, pacgan, pggan,  # noqa: F401
               small_data, sngan_stability, stacked_modes, tips)
