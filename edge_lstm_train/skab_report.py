"""The SKAB result as people read it: our rows beside the published ones, the two parts, the ablation."""

from __future__ import annotations

from typing import Any

from edge_lstm_train.skab import PUBLISHED


def protocol_summary(parts: dict[str, Any], ablation: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
    """The JSON document for one protocol: headline figures first (percent for FAR and MAR)."""
    every = parts["all"]
    return {
        "f1": every["f1"],
        "far": every["far"],
        "mar": every["mar"],
        "cp_standard": every["cp_standard"],
        "cp_low_fp": every["cp_low_fp"],
        "cp_low_fn": every["cp_low_fn"],
        **extra,
        "parts": parts,
        "ablation": ablation,
    }


def markdown(summaries: dict[str, dict[str, Any]], title: str) -> str:
    lines = [
        f"## {title}",
        "",
        "| detector | F1 | FAR % | MAR % | NAB standard | NAB low FP | NAB low FN | look-ahead |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for protocol, s in summaries.items():
        lines.append(
            f"| **edge-lstm, {protocol} protocol** ({s['deployed_model']}) | **{s['f1']:.3f}** | **{s['far']:.2f}** | "
            f"**{s['mar']:.2f}** | **{s['cp_standard']:.2f}** | {s['cp_low_fp']:.2f} | {s['cp_low_fn']:.2f} | none |"
        )
    for name, f1, far, mar, cp, ahead in PUBLISHED:
        lines.append(f"| {name} (published) | {f1:.2f} | {far:.2f} | {mar:.2f} | {cp:.2f} | | | {ahead} |")
    for protocol, s in summaries.items():
        lines += ["", f"### {protocol}: tuned and held-out files", "", _parts_head(), _parts_rule()]
        for part in ("tune", "held_out", "all"):
            p = s["parts"][part]
            lines.append(
                f"| {part} | {p['files']} | {p['f1']:.3f} | {p['far']:.2f} | {p['mar']:.2f} | {p['cp_standard']:.2f} |"
            )
        lines += [
            "",
            f"### {protocol}: ablation (same trained models, all through LiteRT one sample at a time)",
            "",
            "| model | score | threshold; debounce | all F1 / FAR / MAR / NAB | tune F1 / FAR / MAR "
            "| held-out F1 / FAR / MAR |",
            "|---|---|---|---|---|---|",
        ]
        for row in s["ablation"]:
            if "not_applicable" in row:
                lines.append(f"| {row['model']} | {row['score']} | {row['rule']} | n/a: {row['not_applicable']} | | |")
                continue
            a, t, h = row["all"], row["tune"], row["held_out"]
            lines.append(
                f"| {row['model']} | {row['score']} | {row['rule']} | "
                f"{a['f1']:.3f} / {a['far']:.1f} / {a['mar']:.1f} / {a['cp_standard']:.1f} | "
                f"{t['f1']:.3f} / {t['far']:.1f} / {t['mar']:.1f} | {h['f1']:.3f} / {h['far']:.1f} / {h['mar']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def _parts_head() -> str:
    return "| part | files | F1 | FAR % | MAR % | NAB standard |"


def _parts_rule() -> str:
    return "|---|---|---|---|---|---|"
