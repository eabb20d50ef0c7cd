"""Training-seed statistics of the toy-world DreamStyle ablation (`benchmarks.toyworld.seed_stats`), and the
score-table parser they read sweeps with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.toyworld.report import parse_score_table, score_table
from benchmarks.toyworld.scores import SCORE_COLUMNS
from benchmarks.toyworld.seed_stats import TASKS, main, mean_interval, row_label, seed_table, t_quantile, verdict


def scores(style: float, psnr: float = 12.0) -> dict[str, float]:
    return {"n": 46, **{column: 0.5 for column in SCORE_COLUMNS}, "style": style, "psnr": psnr}


def sweep_text(a: list[float], b: list[float], untrained: list[float] | None = None) -> str:
    """A guidance-sweep printout with token-specific / shared (and untrained) style per task."""
    results = {}
    for adapter, values in (("untrained", untrained), ("token-specific", a), ("shared", b)):
        for task, value in zip(TASKS, values or [], strict=False):
            results[row_label(task, adapter)] = {"held-out content": scores(value)}
    return "Eval records 48..99 (46 held-out content clips)\n\n" + score_table(results)


def test_score_table_parses_back_to_its_values() -> None:
    results = {"DreamStyle text, shared": {"held-out content": scores(0.4125, 11.234),
                                           "held-out styles": scores(0.2, 9.5)},
               "StyleMaster generation, style guidance 2": {"held-out content": scores(0.521)}}
    parsed = parse_score_table("a title line\n\n" + score_table(results) + "\n| not | a row |")
    assert set(parsed) == set(results) and set(parsed["DreamStyle text, shared"]) == {"held-out content",
                                                                                      "held-out styles"}
    row = parsed["DreamStyle text, shared"]["held-out content"]
    assert row["n"] == 46 and row["psnr"] == 11.23 and row["style"] == 0.412  # as printed: 2 and 3 decimals
    assert parsed["DreamStyle text, shared"]["held-out styles"]["psnr"] == 9.5


def test_t_quantiles_match_the_printed_tables() -> None:
    for df, expected in ((1, 12.706), (2, 4.303), (6, 2.447), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)
    assert t_quantile(0.95, 10) == pytest.approx(1.812, abs=1e-3)
    mean, low, high = mean_interval([1.0, 2.0, 3.0])  # sd 1, n 3: half width 4.303 / sqrt(3)
    assert mean == 2.0 and high - mean == pytest.approx(4.303 / 3 ** 0.5, abs=1e-3) and mean - low == high - mean
    with pytest.raises(ValueError):
        mean_interval([1.0])
    assert verdict(0.01, 0.2, "a", "b") == "a ahead" and verdict(-0.2, -0.01, "a", "b") == "b ahead"
    assert verdict(-0.01, 0.2, "a", "b") == "not established"


def test_seed_table_pairs_runs_and_gives_a_verdict_per_task() -> None:
    runs = [sweep_text([0.42, 0.40, 0.45], [0.40, 0.41, 0.43], untrained=[0.37, 0.43, 0.39]),
            sweep_text([0.41, 0.38, 0.46], [0.40, 0.40, 0.43]),
            sweep_text([0.43, 0.42, 0.47], [0.41, 0.38, 0.44])]
    lines = seed_table([parse_score_table(text) for text in runs], "token-specific", "shared", "style",
                       "held-out content").splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in lines[2:]}
    assert list(rows) == [*TASKS, "mean of tasks"]
    # text: d = +0.02, +0.01, +0.02, all above 0 and tight; style image: -0.01 -0.02 +0.04, straddling 0
    assert "+0.020 +0.010 +0.020" in rows["text"] and "token-specific ahead" in rows["text"]
    assert "+0.0167" in rows["text"] and "3 of 3 (0.370)" in rows["text"]
    assert "not established" in rows["style image"] and "0 of 3 (0.430)" in rows["style image"]
    assert "token-specific ahead" in rows["first frame"] and "| 0.460 | 0.433 |" in rows["first frame"]
    assert rows["mean of tasks"].endswith("| - |")
    flipped = seed_table([parse_score_table(text) for text in runs], "shared", "token-specific", "style",
                         "held-out content")
    assert "token-specific ahead" in flipped.splitlines()[2]
    strict = seed_table([parse_score_table(text) for text in runs], "token-specific", "shared", "style",
                        "held-out content", level=0.9948).splitlines()
    assert "99.48% interval" in strict[0] and "not established" in strict[2]  # text: t(2) quantile ~13.7, not 4.3


def test_command_refuses_missing_files_and_rows(tmp_path: Path, monkeypatch, capsys) -> None:
    complete = tmp_path / "s0.md"
    complete.write_text(sweep_text([0.42, 0.40, 0.45], [0.40, 0.41, 0.43]))
    partial = tmp_path / "s1.md"
    partial.write_text(sweep_text([0.42, 0.40], [0.40, 0.41, 0.43]))

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["seed_stats", *args])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    for args, message in (((str(complete), str(tmp_path / "gone.md")), "no such sweep output"),
                          ((str(complete),), "two or more"),
                          ((str(complete), str(partial)), "run 2 lacks a row of 'token-specific'"),
                          ((str(complete), str(complete), "--level", "95"), "--level must lie between 0 and 1")):
        code, out, err = run(*args)
        assert code == 2 and message in err and not out
    code, out, _ = run(str(complete), str(complete), "--score", "psnr")
    assert code == 0 and "| text | 12.000 | 12.000 | +0.000 +0.000 |" in out
