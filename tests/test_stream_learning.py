"""Stream learning and drift watch on real images (issue 24): guards, validation, and the eval's runs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from inspectd.detector import AugmentationSet, BankStore, Detector, DetectorSettings, fit_bank, load_bank
from inspectd.detector.drift import DriftRule
from inspectd.detector.search import patch_index
from inspectd.detector.stream_learning import StreamRule, StreamSample, admitted_patches, fit_stream_candidate
from inspectd.evaluation.command import StreamOptions, run_eval
from inspectd.evaluation.dataset import draw_shots
from inspectd.evaluation.feedback_eval import prepared_runs
from inspectd.evaluation.stream_eval import (_verdicts, aligned_view, cached_view, draw_stream, drift_row,
                                             stream_features, stream_result)
from inspectd.images import image_files, read_rgb

# small enough for a test: 160 px, 4 rotations (the eval's figures use the defaults)
SETTINGS = DetectorSettings(input_size=160, augmentations=AugmentationSet(rotations=4))


@pytest.fixture(scope="module")
def bottle(data_root):
    [(run, _)] = prepared_runs(data_root / "mvtec_ad" / "bottle", [4], [0], SETTINGS)
    view = cached_view(run, 4, 0)
    return run, view


def _sample(run, view, systematic=None):
    stream = draw_stream(run, view.pool, 40, 0.05, 0, systematic)
    features = stream_features(view, stream)
    _, failed = _verdicts(view.bank, features)
    return stream, StreamSample(features, [str(i) for i in range(len(features))], ~failed)


def test_admitted_patches_scored_under_the_threshold_and_recur(bottle) -> None:
    """Every admitted patch scored at or below the serving threshold when it was seen, whichever frame it came
    from; a defective frame's worst patch (its defect) never enters; no patch recurs in more frames than there
    are."""
    run, view = bottle
    bank = view.bank
    stream, sample = _sample(run, view)
    grids = patch_index(bank.memory, bank.settings.search).patch_scores(sample.features)
    rows, frames = admitted_patches(sample.features, grids, bank.threshold, StreamRule())
    assert len(rows) > 0
    flat = sample.features.reshape(len(sample.features), -1, sample.features.shape[-1])
    for row, frame in zip(rows[::25], frames[::25]):
        cell = np.flatnonzero((flat[frame] == row).all(axis=1))[0]
        assert 0 < grids[frame].ravel()[cell] <= bank.threshold
    defective = np.flatnonzero(np.asarray(stream.order) >= len(stream.goods))
    assert len(defective) > 0
    for frame in defective:
        worst = flat[frame][grids[frame].argmax()]
        assert not (rows[frames == frame] == worst).all(axis=1).any()
    lower = admitted_patches(sample.features, grids, 0.5 * bank.threshold, StreamRule())[0]
    assert len(lower) < len(rows)  # the threshold bounds what enters
    strict = admitted_patches(sample.features, grids, bank.threshold,
                              StreamRule(min_recurrence=len(sample.features) + 1))[0]
    assert len(strict) == 0


def test_recurrence_measured_a_few_frames_at_a_time_gives_the_every_frame_answer(bottle) -> None:
    """Admission stops measuring a patch once enough frames show it; brute force over every frame agrees."""
    run, view = bottle
    bank = view.bank
    _, sample = _sample(run, view)
    rule = StreamRule()
    grids = patch_index(bank.memory, bank.settings.search).patch_scores(sample.features)
    rows, _ = admitted_patches(sample.features, grids, bank.threshold, rule)
    flat = sample.features.reshape(len(sample.features), -1, sample.features.shape[-1]).astype(np.float64)
    distances = grids.reshape(-1)
    examined = np.flatnonzero((distances > 0) & (distances <= bank.threshold))
    checked = 0
    for cell in examined[::97]:
        patch, reach = flat.reshape(-1, flat.shape[-1])[cell], rule.recurrence_ratio * distances[cell]
        nearest = np.sqrt(((flat - patch) ** 2).sum(-1)).min(1)  # per frame; its own frame holds it at 0
        if np.abs(nearest - reach).min() < 1e-4 * reach:
            continue  # a tie that float rounding may decide either way
        admitted = (rows == patch.astype(np.float32)).all(axis=1).any()
        assert admitted == ((nearest < reach).sum() >= rule.min_recurrence)
        checked += 1
    assert checked >= 20


def test_a_systematic_defect_is_not_learned(bottle) -> None:
    """30 % of the stream carries one defect type, which recurs: the type's held-out images still escape no more
    than 0.05 more often than without the stream, because its patches above the threshold never enter and the
    threshold never rises above the goldens'. (With the stream's own quantile as the threshold: escape
    0.00 -> 0.64.)"""
    run, view = bottle
    bank = view.bank
    stream, sample = _sample(run, view, systematic=0.3)
    candidate = fit_stream_candidate(bank, sample, StreamRule())
    assert candidate.threshold <= bank.threshold
    assert (np.array(stream.order) >= len(stream.goods)).sum() >= 10  # the defect type shows in that many frames
    kind = np.array(run.category.test_types) == stream.systematic_type
    held_out = kind.copy()
    held_out[stream.defects] = False
    scores_before, failed_before = _verdicts(bank, run.test_features[held_out])
    serving = candidate.bank if candidate.accepted else bank  # a refused candidate never serves
    scores_after, failed_after = _verdicts(serving, run.test_features[held_out])
    assert (~failed_after).mean() <= (~failed_before).mean() + 0.05
    # and through the eval's own run (the verdict decides which frames passed)
    result = stream_result(run, view, 4, 0, 40, 0.05, StreamRule(), systematic=0.3)
    assert result.systematic_type == stream.systematic_type
    assert result.type_escape_rate <= result.type_escape_rate_before + 0.05


def test_candidate_carries_its_provenance_and_lowers_good_scores(bottle) -> None:
    run, view = bottle
    bank = view.bank
    _, sample = _sample(run, view)
    candidate = fit_stream_candidate(bank, sample, StreamRule())
    assert candidate.accepted, candidate.problems
    record = candidate.bank.manifest["stream_learning"]
    assert record["frames"] == sample.frame_ids
    assert record["rule"]["defect_share"] == 0.05 and record["admitted_rows"] == candidate.admitted_rows
    assert candidate.bank.manifest["memory_shape"] == list(candidate.bank.memory.shape)
    assert len(candidate.bank.memory) <= 2 * len(bank.memory)  # bounded: max_admitted_share 1.0
    assert np.median(candidate.stream_scores) <= np.median(candidate.stream_scores_before)
    json.dumps(candidate.bank.manifest)  # JSON types only


def test_corrupt_or_out_of_bounds_candidates_are_refused(bottle) -> None:
    run, view = bottle
    bank = view.bank
    _, sample = _sample(run, view)
    features = sample.features.copy()
    features[3, 2, 2, :] = np.nan
    corrupt = fit_stream_candidate(bank, replace(sample, features=features), StreamRule())
    assert not corrupt.accepted and "non-finite" in corrupt.problems[0]
    tight = fit_stream_candidate(bank, sample, StreamRule(max_threshold_change=1.0 + 1e-9))
    assert not tight.accepted and any("outside the bound" in p for p in tight.problems)


def test_drift_fires_on_a_darker_line_and_not_on_an_unchanged_one(bottle) -> None:
    run, view = bottle
    row = drift_row(run, view, 0, 40, 0.05, DriftRule())
    assert row.fired_after is not None and row.fired_after <= row.changed_frames
    assert row.false_alarm_after is None


def test_eval_stream_rows_in_json(data_root, tmp_path) -> None:
    json_path = tmp_path / "stream.json"
    printed: list[str] = []
    run_eval([data_root / "mvtec_ad" / "bottle"], "4", "0", ["graphcore"], SETTINGS, json_path,
             echo=printed.append, stream=StreamOptions(30, 0.1, None, True))
    document = json.loads(json_path.read_text())
    row = document["results"][0]
    assert row["stream_frames"] == 30 and row["defect_rate"] == pytest.approx(0.1)
    for key in ("image_auroc", "false_reject_rate", "escape_rate"):
        assert 0.0 <= row[f"{key}_before"] <= 1.0 and 0.0 <= row[key] <= 1.0
    assert document["drift"][0]["changed_frames"] == 15
    assert any("false reject" in block for block in printed)


def test_stream_learning_config_errors_name_the_key() -> None:
    from inspectd.config import ConfigError, parse_config

    camera = [{"name": "cam1", "source": {"uri": "line.mp4"}, "product": "line"}]
    base = {"products": {"line": {"banks_dir": "/tmp/banks"}}, "cameras": camera}
    assert parse_config(base).products["line"].stream_learning.enabled is False  # off by default
    for section, expected in (({"defect_share": 0.7}, "products.line.stream_learning.defect_share"),
                              ({"drift": {"window": 2}}, "products.line.stream_learning.drift.window"),
                              ({"sample_frames": 10, "min_frames": 20}, "min_frames (20) must not exceed"),
                              ({"enabeld": True}, "products.line.stream_learning.enabeld: unknown key")):
        with pytest.raises(ConfigError) as error:
            parse_config({**base, "products": {"line": {"banks_dir": "/tmp/banks", "stream_learning": section}}})
        assert expected in str(error.value), str(error.value)


def test_a_candidate_keeps_the_structural_check_and_loads(data_root, tmp_path) -> None:
    """juice_bottle at 4 goldens has the structural check: the learned bank must keep it (its manifest's
    ``structure`` needs the goldens' layout features, or the bank is refused on load) and score as it serves."""
    category = data_root / "mvtec_loco" / "juice_bottle"
    files = image_files(category / "train" / "good")
    settings = replace(SETTINGS, input_size=224)
    bank = fit_bank([read_rgb(files[i]) for i in draw_shots(len(files), 4, 0)], settings)
    assert bank.manifest["structure"] is not None
    detector = Detector(bank)
    frames = [read_rgb(path) for path in files[-12:]]
    features = detector.embedded_features(detector.input_frames(frames), {})
    scores, _ = detector.score_maps(features, {})
    sample = StreamSample(features, [p.name for p in files[-12:]], scores <= bank.threshold)
    candidate = fit_stream_candidate(bank, sample, StreamRule(min_recurrence=2))
    assert candidate.bank.layout_features is not None
    # the stream's scores before learning are the served ones: the structural check included
    assert np.allclose(candidate.stream_scores_before, scores, rtol=1e-5)
    loaded = load_bank(BankStore(tmp_path).write("juice", candidate.bank))
    assert Detector(loaded).structure is not None


def test_the_stream_eval_learns_on_the_detectors_own_bank(data_root) -> None:
    """A long part's draws get the pose-aligned bank refit makes, its frames seen through the detector; a part
    held upright gets the whole-frame bank with its structural check, as refit fits it."""
    [(screw, _)] = prepared_runs(data_root / "mvtec_ad" / "screw", [4], [0], SETTINGS)
    view = aligned_view(screw, SETTINGS, 4, 0)
    assert view is not None and view.bank.manifest["pose"] is not None
    assert view.tests(np.array([0]), 1.0).shape[1:3] != screw.test_features.shape[1:3]  # the crop's grid
    # a crop's cells beyond the frame's edge do not count, as in inspection
    assert view.test_cells.shape[1:] == view.tests(np.array([0]), 1.0).shape[1:3]
    detector = Detector(view.bank)
    inspected = detector.inspect([screw.category.test_images[0]])[0].image_score
    scored, _ = detector.score_maps(view.tests(np.array([0]), 1.0), {}, view.test_cells[:1])
    assert scored[0] == pytest.approx(inspected, rel=1e-5)
    result = stream_result(screw, view, 4, 0, 20, 0.05, StreamRule())
    assert result.stream_frames == 20 and 0.5 < result.image_auroc_before <= 1.0
    settings = replace(SETTINGS, input_size=224)
    [(juice, _)] = prepared_runs(data_root / "mvtec_loco" / "juice_bottle", [4], [0], settings)
    assert aligned_view(juice, settings, 4, 0) is None
    whole = cached_view(juice, 4, 0)
    assert whole.bank.manifest["structure"] is not None and whole.test_cells is None
