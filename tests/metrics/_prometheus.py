"""A strict reader of the Prometheus text format 0.0.4, for checking what the endpoint serves.

Not a general parser: it accepts exactly what the format allows (HELP and
TYPE comments, then samples of declared families), so a malformed line fails
the test that reads it.
"""

from __future__ import annotations

import re

__all__ = ["Sample", "parse"]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}

Sample = tuple[str, dict[str, str], float]


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        found = _LABEL.match(text, position)
        assert found is not None, f"malformed labels {text!r}"
        labels[found.group(1)] = found.group(2)
        position = found.end()
    return labels


def parse(text: str) -> tuple[dict[str, str], list[Sample]]:
    """Return each family's type, and every sample, checking the format as it goes."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    types: dict[str, str] = {}
    helped: set[str] = set()
    samples: list[Sample] = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert re.fullmatch(_NAME, name), line
            assert name not in helped, f"HELP twice for {name}"
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"TYPE twice for {name}"
            types[name] = kind
        else:
            found = _SAMPLE.match(line)
            assert found is not None, f"malformed sample line {line!r}"
            name, labels, value = found.group(1), found.group(2) or "", found.group(3)
            family = name
            if name not in types:
                family = next(
                    (
                        name.removesuffix(s)
                        for f, k in types.items()
                        for s in _SUFFIXES.get(k, ())
                        if s and name == f + s
                    ),
                    name,
                )
            assert family in types, f"sample {name} before its TYPE line"
            if types[family] == "counter":
                assert name.endswith("_total"), f"counter {name} must end in _total"
            samples.append((name, _labels(labels), float(value)))
    return types, samples
