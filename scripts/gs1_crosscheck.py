#!/usr/bin/env python3
"""Cross-check GS1 element strings with an independent parser, `biip` (PyPI).

Reads element strings on stdin, one per line (GS as the byte 0x1D, optionally
AIM-prefixed like `]d2`), parses each with biip and prints one JSON object per
line: {"input": ..., "elements": [[ai, value], ...]} or {"input": ..., "error": ...}.

Setup: python3 -m venv /tmp/venv-biip && /tmp/venv-biip/bin/pip install biip
Run:   /tmp/venv-biip/bin/python scripts/gs1_crosscheck.py < strings.txt

biip checks GTIN/SSCC check digits and dates, but not the GS1 Barcode Syntax
Dictionary's associations (req=/ex=) or most of its linters, so it can only
agree or disagree on how a string splits into AIs and values.
"""

import json
import sys

try:
    import biip
except ImportError:  # pragma: no cover - reported to the caller
    print("gs1_crosscheck: the biip package is not installed", file=sys.stderr)
    sys.exit(2)

GS = "\x1d"


def parse(line: str) -> dict:
    try:
        # biip reads an AIM symbology identifier itself; GS (0x1D) is its
        # default separator.
        result = biip.parse(line.lstrip(GS))
    except Exception as e:  # biip raises ParseError and ValueError subclasses
        return {"error": str(e)}
    message = result.gs1_message
    if message is None:
        return {"error": str(result.gs1_message_error or "not a GS1 message")}
    return {"elements": [[es.ai.ai, es.value] for es in message.element_strings]}


def main() -> None:
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            continue
        out = {"input": line}
        out.update(parse(line))
        print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
