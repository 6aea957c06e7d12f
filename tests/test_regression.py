import json

import pytest

from mediaopt.replay.regression import (
    KEY_METRICS,
    Tolerance,
    compare,
    format_diff,
    load_golden,
    save_golden,
)

ROW = {
    "frame_delay_p95_ms": 180.0,
    "freeze_ratio": 0.02,
    "quality_mean": 36.5,
    "utilization": 0.71,
    "usable_ratio": 0.995,
}


def test_tolerance_abs_and_rel():
    t = Tolerance(abs_tol=10.0, rel_tol=0.10)
    assert t.allows(180.0, 197.0)  # 10 % of 180 = 18
    assert not t.allows(180.0, 199.0)
    assert Tolerance(abs_tol=0.01).allows(0.02, 0.03)
    assert not Tolerance(abs_tol=0.01).allows(0.02, 0.0301)


def test_unchanged_matrix_has_no_changes():
    assert compare({"a/consult": ROW}, {"a/consult": dict(ROW)}) == []


def test_moved_metric_is_reported_with_a_readable_diff():
    moved = dict(ROW, usable_ratio=0.95)
    changes = compare({"a/consult": ROW}, {"a/consult": moved})
    assert [(c.cell, c.metric) for c in changes] == [("a/consult", "usable_ratio")]
    text = format_diff(changes)
    assert "usable_ratio" in text and "0.995" in text and "0.95" in text and "-0.045" in text


def test_added_and_removed_cells_are_changes():
    changes = compare({"a/consult": ROW}, {"b/consult": ROW})
    assert {c.cell for c in changes} == {"a/consult", "b/consult"}
    assert len(changes) == 2 * len(KEY_METRICS)
    assert "missing" in format_diff(changes)


def test_save_load_round_trip_keeps_only_key_metrics(tmp_path):
    p = tmp_path / "golden.json"
    save_golden(p, {"a/consult": dict(ROW, fps_mean=29.1)})
    assert load_golden(p) == {"a/consult": ROW}
    assert json.loads(p.read_text())["tolerances"]["freeze_ratio"]["abs"] == 0.01
    assert load_golden(tmp_path / "absent.json") == {}


def test_bad_golden_file_is_a_clear_error(tmp_path):
    p = tmp_path / "g.json"
    p.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a golden metrics file"):
        load_golden(p)
