"""`inspectd eval --feedback`: rates before and after simulated operator corrections, in the table and JSON."""

from __future__ import annotations

import json

from inspectd.detector import DetectorSettings
from inspectd.evaluation.command import run_eval


def test_eval_reports_rates_after_simulated_feedback(data_root, tmp_path) -> None:
    printed: list[str] = []
    json_path = tmp_path / "eval.json"
    run_eval([data_root / "mvtec_ad" / "bottle"], "2", "0", ["graphcore"], DetectorSettings(), json_path,
             feedback=True, echo=printed.append)
    document = json.loads(json_path.read_text())
    assert len(document["results"]) == 1
    # bottle separates (image AUROC 0.999): a threshold rejecting 5 % of its test goods passes no defect
    assert document["results"][0]["escape_at_5pct_false_reject"] == 0.0
    assert any("best escape at 5 % false reject" in block for block in printed)
    rows = document["feedback"]
    assert [row["asked"] for row in rows] == [0, 1, 2, 4]
    assert all(row["feedbacks"] <= row["asked"] for row in rows)
    assert [row["feedbacks"] for row in rows] == sorted(row["feedbacks"] for row in rows)
    before, after = rows[0], rows[-1]
    assert before["feedbacks"] == 0
    # each correction is a good part the bank rejected: its patches join the bank, so the goldens' hold-out
    # scores (and the threshold recalibrated from them) can only fall, and so do the false rejects
    assert after["threshold"] <= before["threshold"] * 1.001
    assert after["false_reject_rate"] <= before["false_reject_rate"]
    assert any("feedbacks asked" in block for block in printed)
