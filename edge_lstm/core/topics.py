"""Which stream a message belongs to, from its MQTT topic and the subscription pattern it matched.

>>> stream_id("sensors/+/pump", "sensors/press-7/pump")
'press-7'
>>> stream_id("plant/#", "plant/hall-2/line-1")
'hall-2/line-1'
>>> stream_id("sensors/pump", "sensors/pump")
'pump'
>>> stream_id("sensors/+/pump", "sensors/a/fan") is None
True
"""

from __future__ import annotations


def stream_id(pattern: str, topic: str) -> str | None:
    """The stream id of ``topic`` under a subscription ``pattern``, or None if it does not match.

    The id is made of the topic levels matched by wildcards, joined by '/'; a pattern without
    wildcards names one stream, identified by its last level.
    """
    want, got = pattern.split("/"), topic.split("/")
    matched: list[str] = []
    for i, level in enumerate(want):
        if level == "#":
            rest = got[i:]
            if not rest:
                return None
            matched.extend(rest)
            return "/".join(matched)
        if i >= len(got):
            return None
        if level == "+":
            matched.append(got[i])
        elif level != got[i]:
            return None
    if len(got) != len(want):
        return None
    return "/".join(matched) if matched else got[-1]
