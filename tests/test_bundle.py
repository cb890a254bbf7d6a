"""Bundles: the round trip, and one exact line for each way a bundle can be wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from edge_lstm.bundle import BundleError, load_bundle, write_manifest

pytestmark = pytest.mark.slow


def _edit_manifest(bundle: Path, **changes: object) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest.update(changes)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_keeps_everything_the_device_needs(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    m = bundle.manifest
    assert m["schema_version"] == 1
    assert bundle.features == ["vibration", "motor_current", "bearing_temp", "pressure", "flow"]
    assert bundle.state_names == ["h", "c"] and bundle.window == 16
    assert re.fullmatch(r"test-[0-9a-f]{8}", bundle.model_id)
    assert m["model_id"].endswith(m["files"]["model.tflite"][:8])
    assert len(m["training"]["data_fingerprint"]) == 64
    assert m["threshold"]["method"] == "quantile" and m["threshold"]["value"] > 0
    assert m["quantization"]["deployed"] in m["quantization"]["variants"]
    settings = bundle.detector_settings()
    assert settings.threshold == bundle.threshold and settings.warmup >= bundle.window
    state = bundle.open_model().step(np.zeros((1, 5), np.float32), (np.zeros((1, 32), np.float32),) * 2)[1]
    assert [s.shape for s in state] == [(1, 32), (1, 32)]


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=f"^{tmp_path / 'nope'}: bundle directory not found$"):
        load_bundle(tmp_path / "nope")


def test_directory_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"not a model bundle \(no manifest.json\)$"):
        load_bundle(tmp_path)


def test_corrupt_manifest(bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_text('{"schema_version": 1,')
    with pytest.raises(BundleError, match=r"manifest.json is corrupt \(Expecting"):
        load_bundle(bundle_copy)


def test_tampered_model_file(bundle_copy: Path) -> None:
    data = bytearray((bundle_copy / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundle_copy / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(
        BundleError,
        match=r"model.tflite does not match its sha256 in manifest.json .*"
        r"the file was modified or corrupted$",
    ):
        load_bundle(bundle_copy)


def test_missing_model_file(bundle_copy: Path) -> None:
    (bundle_copy / "model.tflite").unlink()
    with pytest.raises(BundleError, match=r": model.tflite is missing$"):
        load_bundle(bundle_copy)


def test_unsupported_schema_version(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, schema_version=99)
    with pytest.raises(
        BundleError, match=r"bundle schema version 99 is not supported by this edge-lstm \(supports 1\)"
    ):
        load_bundle(bundle_copy)


def test_manifest_missing_fields(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    del manifest["scaler"], manifest["window"]
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"manifest.json lacks required field\(s\): scaler, window$"):
        load_bundle(bundle_copy)


def test_model_file_that_is_not_a_model_even_with_a_matching_hash(bundle_copy: Path) -> None:
    (bundle_copy / "model.tflite").write_bytes(b"definitely not a flatbuffer")
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    write_manifest(bundle_copy, manifest, list(manifest["files"]))
    bundle = load_bundle(bundle_copy)
    with pytest.raises(BundleError, match=r"incompatible model file: .*not a loadable LiteRT step model"):
        bundle.open_model()


def test_manifest_that_disagrees_with_the_model(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["window"] = 8
    write_manifest(bundle_copy, manifest, list(manifest["files"]))
    bundle = load_bundle(bundle_copy)
    with pytest.raises(BundleError, match=r"reconstruction output has shape \(1, 80\), expected \(1, 40\)"):
        bundle.open_model()


def test_scaler_of_the_wrong_length(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["scaler"] = {"mean": [0.0], "scale": [1.0]}
    write_manifest(bundle_copy, manifest, list(manifest["files"]))
    with pytest.raises(BundleError, match=r"scaler has 1 features but the bundle lists 5$"):
        load_bundle(bundle_copy)


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("score", {"kind": "rms"}, r"invalid score in manifest.json \(score must be one of window_mse, residual, "),
        ("score", {"kind": "mahalanobis", "precision": [[1.0]]}, r"score precision must be 5 x 5, got \(1, 1\)$"),
        ("preprocessing", {"smooth": 0}, r"preprocessing.smooth must be a positive integer, got 0$"),
        ("preprocessing", {"smooth": 1, "baseline": 1}, r"preprocessing.baseline must be 0 or at least 2, got 1$"),
        (
            "alerting",
            {"fire_n": 3, "fire_m": 5, "stuck": {"after": [10, 10]}},
            r"alerting.stuck.after must be 5 counts of 0 or more, got \[10, 10\]$",
        ),
        (
            "alerting",
            {"jump": [1.0, 2.0]},
            r"alerting.jump must be 5 steps of 0 or more, got \[1.0, 2.0\]$",
        ),
        (
            "alerting",
            {"stuck": {"after": [10] * 5, "low": [0.0] * 5, "high": None}},
            r"alerting.stuck.high must be 5 numbers, got None$",
        ),
        (
            "alerting",
            {"transitions": {"channels": ["flow"], "low": [1.0], "high": [0.0], "zone": 4, "bound": 1.0}},
            r"alerting.transitions.low must lie below transitions.high, got \[1.0\] and \[0.0\]$",
        ),
        (
            "alerting",
            {
                "transitions": {
                    "channels": ["flow"],
                    "low": [0.0],
                    "high": [1.0],
                    "zone": 4,
                    "bound": 1.0,
                    "settled": {"after": 20, "threshold": -1.0},
                }
            },
            r"alerting.transitions.settled.threshold must be a positive score, got -1.0$",
        ),
        (
            "alerting",
            {"sustained": {"fast": 32, "slow": 1024, "median": -1.0, "bound": 1.0}},
            r"alerting.sustained.median must be a positive score, got -1.0$",
        ),
        (
            "alerting",
            {"cadence": {"cycles": 5, "band": 0.3, "centre": [80.0], "low": [95.0], "high": [105.0]}},
            r"alerting.cadence.centre must be 5 numbers of 0 or more, got \[80.0\]$",
        ),
        (
            "alerting",
            {"watched": ["flow"]},
            r"alerting.watched must list distinct channels that are not features, got \['flow'\]$",
        ),
        (
            "alerting",
            {"watched": ["spare"], "jump": [1.0] * 5},  # the watches cover the watched channels too
            r"alerting.jump must be 6 steps of 0 or more, got \[1.0, 1.0, 1.0, 1.0, 1.0\]$",
        ),
        (
            "preprocessing",
            {"level": {"channels": ["nope"], "span": 10}},
            r"preprocessing.level.channels must name features, got \['nope'\]$",
        ),
        (
            "preprocessing",
            {"level": {"channels": ["flow"], "span": 0}},
            r"preprocessing.level.span must be a positive integer, got 0$",
        ),
        (
            "preprocessing",
            {"counts": ["nope"]},
            r"preprocessing.counts must name features, got \['nope'\]$",
        ),
    ],
)
def test_bad_detection_settings_in_the_manifest(bundle_copy: Path, section: str, value: object, message: str) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest[section] = value
    write_manifest(bundle_copy, manifest, list(manifest["files"]))
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_copy)


def test_the_settled_threshold_is_shown_and_kept_only_with_the_bundles_own_threshold(bundle_copy: Path) -> None:
    """It was calibrated by the bundle's rule: a threshold set when deploying is one level for all."""
    from click.testing import CliRunner

    from edge_lstm.cli import main
    from edge_lstm.core.calibration import ThresholdRule

    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    settled = {"after": 20, "threshold": 0.5 * manifest["threshold"]["value"]}
    guard = {"channels": ["flow"], "low": [0.0], "high": [1.0], "zone": 4, "bound": 1.0, "settled": settled}
    manifest["alerting"]["transitions"] = guard
    write_manifest(bundle_copy, manifest, list(manifest["files"]))
    bundle = load_bundle(bundle_copy)
    assert bundle.detector_settings().transitions == guard
    for other in (bundle.detector_settings(0.3), bundle.detector_settings(None, ThresholdRule("quantile", 0.99))):
        assert other.transitions == {k: v for k, v in guard.items() if k != "settled"}
    info = CliRunner().invoke(main, ["info", str(bundle_copy)])
    assert info.exit_code == 0, info.output
    assert f"settled running: from 20 samples past a switch the threshold is {settled['threshold']:.6g}" in info.output


def test_nothing_is_loaded_with_pickle() -> None:
    """A bundle is data: no np.load may accept pickled objects (which run code when loaded)."""
    import ast

    from support import REPO

    calls = []
    for path in [*(REPO / "edge_lstm").rglob("*.py"), *(REPO / "edge_lstm_train").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.load", "numpy.load"):
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                calls.append((path.name, keywords.get("allow_pickle")))
            assert not (isinstance(node, ast.Import) and any(a.name == "pickle" for a in node.names)), path
    assert calls and all(allow == "False" for _, allow in calls), calls
