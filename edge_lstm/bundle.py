"""The model bundle: a directory with ``model.tflite`` and ``manifest.json`` (plus the float reference
weights and the other quantization variants). Loading validates everything up front and every problem
is one ``BundleError`` line that names the bundle and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Bundle", "BundleError", "load_bundle", "write_manifest"]

import numpy as np

from edge_lstm.core.adaptive import gate_for
from edge_lstm.core.cadence import check_cadence
from edge_lstm.core.calibration import ThresholdRule, calibrate
from edge_lstm.core.detector import DetectorSettings
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.scoring import Scorer
from edge_lstm.core.seasonal import check_seasonal
from edge_lstm.core.settings import check_transitions
from edge_lstm.core.sustained import check_sustained
from edge_lstm.core.thresholds import DebounceSettings
from edge_lstm.errors import BundleError, ModelFileError, SettingsError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
MODEL = "model.tflite"
REFERENCE_WEIGHTS = "reference_weights.npz"
CALIBRATION_SCORES = "calibration_scores.npy"  # the deployed model's held-out normal scores
REQUIRED_KEYS = (
    "schema_version",
    "model_id",
    "features",
    "scaler",
    "window",
    "cell",
    "state",
    "threshold",
    "alerting",
    "quantization",
    "files",
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]

    # -- typed views of the manifest -------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])

    @property
    def features(self) -> list[str]:
        return list(self.manifest["features"])

    @property
    def watched(self) -> list[str]:
        """Channels left out of the model whose readings are still watched (stuck, leaps): a sample
        carries them after the features when it has them."""
        return list(self.manifest["alerting"].get("watched", []))

    @property
    def channels(self) -> list[str]:
        """What the bundle reads from a source, in order: its features, then its watched channels."""
        return [*self.features, *self.watched]

    @property
    def window(self) -> int:
        return int(self.manifest["window"])

    @property
    def cell(self) -> str:
        return str(self.manifest["cell"])

    @property
    def state_names(self) -> list[str]:
        return [str(s["name"]) for s in self.manifest["state"]]

    @property
    def state_sizes(self) -> list[int]:
        return [int(s["size"]) for s in self.manifest["state"]]

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"]["value"])

    @property
    def scorer(self) -> Scorer:
        return Scorer.from_dict(self.manifest.get("score"))

    @property
    def smooth(self) -> int:
        return int(self.manifest.get("preprocessing", {}).get("smooth", 1))

    @property
    def baseline(self) -> int:
        return int(self.manifest.get("preprocessing", {}).get("baseline", 0))

    @property
    def level(self) -> tuple[list[str], int] | None:
        """The channels whose slow level is tracked and removed, and its span (None: none are)."""
        level = self.manifest.get("preprocessing", {}).get("level")
        return None if level is None else (list(level["channels"]), int(level["span"]))

    @property
    def counts(self) -> list[str]:
        """The channels read through a square root before anything else (core/counts.py)."""
        return list(self.manifest.get("preprocessing", {}).get("counts", []))

    @property
    def scaler(self) -> StandardScaler:
        return StandardScaler.from_dict(self.manifest["scaler"])

    def file(self, name: str) -> Path:
        return self.path / name

    # -- what the device builds from it ------------------------------------------------------------
    def open_model(self, variant: str | None = None, num_threads: int = 1) -> Any:
        """The LiteRT step model: the deployed ``model.tflite``, or a named variant (float, dynamic, int8)."""
        from edge_lstm.runtime.litert import LiteRTStepModel

        if variant is not None and "file" not in self.manifest["quantization"]["variants"].get(variant, {}):
            raise BundleError(f"{self.path}: this bundle has no usable {variant} model")
        name = MODEL if variant is None else self.manifest["quantization"]["variants"][variant]["file"]
        try:
            return LiteRTStepModel(
                self.file(name),
                n_features=len(self.features),
                window=self.window,
                state_names=self.state_names,
                state_sizes=self.state_sizes,
                num_threads=num_threads,
            )
        except ModelFileError as error:
            raise BundleError(f"{self.path}: incompatible model file: {error}") from error

    def reference_model(self) -> Any:
        from edge_lstm.runtime.reference import NumpyStepModel

        return NumpyStepModel.from_file(self.file(REFERENCE_WEIGHTS), cell=self.cell, window=self.window)

    def recalibrated(self, rule: ThresholdRule) -> dict[str, Any]:
        """A threshold section by another method or knob, from the stored calibration scores. The adaptive
        rule keeps the gate the bundle was trained with (an older bundle's, too), else the one for its data."""
        scores = self.calibration_scores()
        own = self.manifest["threshold"].get("adaptive", {}).get("gate_quantile")
        try:
            return calibrate(scores, rule, float(own) if own is not None else gate_for(bool(self.counts)))
        except ValueError as error:
            raise BundleError(f"{self.path}: cannot recalibrate the threshold: {error}") from None

    def calibration_scores(self) -> np.ndarray:
        """The deployed model's held-out normal scores (``calibration_scores.npy``, no pickle)."""
        if CALIBRATION_SCORES not in self.manifest["files"]:
            raise BundleError(
                f"{self.path}: this bundle stores no calibration scores (trained by an older edge-lstm); "
                "set an absolute threshold instead, or retrain it"
            )
        return np.asarray(np.load(self.file(CALIBRATION_SCORES), allow_pickle=False), dtype=np.float64)

    def detector_settings(
        self, threshold: float | None = None, rule: ThresholdRule | None = None, **overrides: Any
    ) -> DetectorSettings:
        """The device's settings; ``threshold`` (an absolute value) or ``rule`` (recalibrated from the
        stored scores) replace the bundle's own threshold."""
        section = self.recalibrated(rule) if rule is not None else self.manifest["threshold"]
        alerting = self.manifest["alerting"]
        limits = self.manifest.get("input_range")
        debounce = DebounceSettings(
            **{k: alerting[k] for k in ("fire_n", "fire_m", "clear_n", "clear_ratio", "clear_backoff") if k in alerting}
        )
        settings: dict[str, Any] = {
            "features": self.features,
            "window": self.window,
            "scaler": self.scaler,
            "threshold": float(section["value"]) if threshold is None else threshold,
            "debounce": debounce,
            "warmup": int(alerting.get("warmup", 2 * self.window)),
            "input_low": np.asarray(limits["low"], dtype=np.float32) if limits else None,
            "input_high": np.asarray(limits["high"], dtype=np.float32) if limits else None,
            "sample_period_s": self.manifest.get("sample_period_s"),
            "mean_period_s": self.manifest.get("mean_period_s"),
            "gap_reset_periods": float(alerting.get("gap_reset_periods", 10.0)),
            "model_id": self.model_id,
            "spot": section.get("spot") if threshold is None else None,
            "adaptive": section.get("adaptive") if threshold is None else None,
            "calibration": self.calibration_scores() if threshold is None and "adaptive" in section else None,
            "smooth": self.smooth,
            "baseline": self.baseline,
            "level": self.level,
            "counts": tuple(self.counts),
            "stuck": alerting.get("stuck"),
            "jump": alerting.get("jump"),
            "watched": tuple(self.watched),
            "transitions": self._transitions(own=threshold is None and rule is None),
            "sustained": alerting.get("sustained"),
            "seasonal": alerting.get("seasonal"),
            "cadence": alerting.get("cadence"),
            "scorer": self.scorer,
        }
        settings.update(overrides)
        return DetectorSettings(**settings)

    def _transitions(self, own: bool) -> dict[str, Any] | None:
        """The switch guard's settings; its threshold of settled running only with the bundle's own
        threshold, by whose rule it was calibrated (another threshold is one level for all running)."""
        guard = self.manifest["alerting"].get("transitions")
        if guard is None or own:
            return guard  # type: ignore[no-any-return]
        return {k: v for k, v in guard.items() if k != "settled"}


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle directory. Raises BundleError with one clear line."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root}: bundle directory not found")
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{root}: not a model bundle (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BundleError(f"{root}: {MANIFEST} is corrupt ({error})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{root}: {MANIFEST} is corrupt (expected a JSON object)")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"{root}: bundle schema version {version!r} is not supported by this edge-lstm "
            f"(supports {SCHEMA_VERSION}); retrain the bundle or install a matching edge-lstm"
        )
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise BundleError(f"{root}: {MANIFEST} lacks required field(s): {', '.join(missing)}")
    files = manifest["files"]
    if MODEL not in files:
        raise BundleError(f"{root}: {MANIFEST} does not list {MODEL}")
    for name, expected in files.items():
        file_path = root / name
        if not file_path.is_file():
            raise BundleError(f"{root}: {name} is missing")
        actual = sha256_file(file_path)
        if actual != expected:
            raise BundleError(
                f"{root}: {name} does not match its sha256 in {MANIFEST} "
                f"(expected {expected[:12]}..., found {actual[:12]}...): the file was modified or corrupted"
            )
    bundle = Bundle(root, manifest)
    _check_consistent(bundle)
    return bundle


def _check_consistent(bundle: Bundle) -> None:
    m = bundle.manifest
    n = len(bundle.features)
    try:
        scaler = bundle.scaler
    except (KeyError, ValueError, TypeError) as error:
        raise BundleError(f"{bundle.path}: invalid scaler in {MANIFEST} ({error})") from None
    if n == 0 or scaler.n_features != n:
        raise BundleError(f"{bundle.path}: scaler has {scaler.n_features} features but the bundle lists {n}")
    if not isinstance(m["window"], int) or m["window"] < 1:
        raise BundleError(f"{bundle.path}: window must be a positive integer, got {m['window']!r}")
    try:
        scorer = Scorer.from_dict(m.get("score"))
    except (ValueError, TypeError) as error:
        raise BundleError(f"{bundle.path}: invalid score in {MANIFEST} ({error})") from None
    if scorer.precision is not None and scorer.precision.shape != (n, n):
        raise BundleError(f"{bundle.path}: score precision must be {n} x {n}, got {scorer.precision.shape}")
    smooth = m.get("preprocessing", {}).get("smooth", 1)
    if not isinstance(smooth, int) or smooth < 1:
        raise BundleError(f"{bundle.path}: preprocessing.smooth must be a positive integer, got {smooth!r}")
    baseline = m.get("preprocessing", {}).get("baseline", 0)
    if not isinstance(baseline, int) or baseline < 0 or baseline == 1:
        raise BundleError(f"{bundle.path}: preprocessing.baseline must be 0 or at least 2, got {baseline!r}")
    _check_stuck(bundle, n)
    level = m.get("preprocessing", {}).get("level")
    if level is not None:
        channels, span = (level.get(k) if isinstance(level, dict) else None for k in ("channels", "span"))
        if not isinstance(channels, list) or not channels or not set(channels) <= set(m["features"]):
            raise BundleError(f"{bundle.path}: preprocessing.level.channels must name features, got {channels!r}")
        if not isinstance(span, int) or span < 1:
            raise BundleError(f"{bundle.path}: preprocessing.level.span must be a positive integer, got {span!r}")
    counts = m.get("preprocessing", {}).get("counts", [])
    if not isinstance(counts, list) or not set(counts) <= set(m["features"]):
        raise BundleError(f"{bundle.path}: preprocessing.counts must name features, got {counts!r}")
    threshold = m["threshold"].get("value") if isinstance(m["threshold"], dict) else None
    if not isinstance(threshold, int | float) or not threshold > 0:
        raise BundleError(f"{bundle.path}: threshold value must be a positive number, got {threshold!r}")


def _check_stuck(bundle: Bundle, n: int) -> None:
    alerting = bundle.manifest["alerting"] if isinstance(bundle.manifest["alerting"], dict) else {}
    watched = alerting.get("watched", [])
    features = bundle.manifest["features"]
    if (
        not isinstance(watched, list)
        or not all(isinstance(w, str) and w and w not in features for w in watched)
        or len(set(watched)) != len(watched)
    ):
        raise BundleError(
            f"{bundle.path}: alerting.watched must list distinct channels that are not features, got {watched!r}"
        )
    n += len(watched)  # the watches cover the features, then the watched channels
    if alerting.get("transitions") is not None:
        try:
            check_transitions(alerting["transitions"], list(features))
        except SettingsError as error:
            raise BundleError(f"{bundle.path}: alerting.{error}") from None
    width = len(features)
    checks: dict[str, Callable[[Any], None]] = {
        "sustained": check_sustained,
        "seasonal": lambda setting: check_seasonal(setting, width),
        "cadence": lambda setting: check_cadence(setting, width),
    }
    for key, check in checks.items():
        if alerting.get(key) is not None:
            try:
                check(alerting[key])
            except SettingsError as error:
                raise BundleError(f"{bundle.path}: alerting.{error}") from None
    jump = alerting.get("jump")
    if jump is not None and (
        not isinstance(jump, list) or len(jump) != n or not all(isinstance(v, int | float) and v >= 0 for v in jump)
    ):
        raise BundleError(f"{bundle.path}: alerting.jump must be {n} steps of 0 or more, got {jump!r}")
    stuck = alerting.get("stuck")
    if stuck is None:
        return
    after = stuck.get("after") if isinstance(stuck, dict) else None
    if not isinstance(after, list) or len(after) != n or not all(isinstance(v, int) and v >= 0 for v in after):
        raise BundleError(f"{bundle.path}: alerting.stuck.after must be {n} counts of 0 or more, got {after!r}")
    for side in ("low", "high"):
        bound = stuck.get(side)
        if not isinstance(bound, list) or len(bound) != n or not all(isinstance(v, int | float) for v in bound):
            raise BundleError(f"{bundle.path}: alerting.stuck.{side} must be {n} numbers, got {bound!r}")


def write_manifest(root: Path, manifest: dict[str, Any], files: list[str]) -> dict[str, Any]:
    """Hash ``files`` (relative to ``root``) into the manifest and write it. Returns the manifest."""
    manifest = dict(manifest)
    manifest["schema_version"] = SCHEMA_VERSION
    manifest["files"] = {name: sha256_file(root / name) for name in files}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
