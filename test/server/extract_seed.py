#!/usr/bin/python3
"""Extract the Postman collection item from the zcrm_bulk seed document.

The seed document is a scraped web page.  After the line
"Postman Collection Item JSON" it holds one JSON object: Zoho's Postman
collection item "Job Details" with five saved responses (status line,
header list and body string each).  zoho_mock.py replays those responses,
so this script copies that object, unchanged, into

    test/server/fixtures/seed_collection.json

pretty-printed (2-space indent, UTF-8, key order kept, trailing newline).
The string values, including every response body, are kept exactly:
they go through json.loads/json.dumps, which round-trips strings.

Usage:
    extract_seed.py SEEDFILE            write the fixture
    extract_seed.py --check SEEDFILE    exit 1 if the fixture on disk is not
                                        exactly what SEEDFILE gives
    extract_seed.py --out PATH ...      another output/compare path

Standard library only.
"""

import argparse
import json
import os
import sys

MARKER = "Postman Collection Item JSON"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "fixtures", "seed_collection.json")
EXPECTED_RESPONSES = [
    "SUCCESS RESPONSE",
    "INVALID_URL_PATTERN",
    "INVALID_REQUEST_METHOD",
    "AUTHENTICATION_FAILURE",
    "RESOURCE_NOT_FOUND",
]


class SeedError(Exception):
    pass


def extract(seed_text):
    """Return the Postman item (a dict) found after the marker line."""
    lines = seed_text.splitlines(keepends=True)
    pos = 0
    start = None
    for line in lines:
        pos += len(line)
        if line.strip() == MARKER:
            start = pos
            break
    if start is None:
        raise SeedError("marker line %r not found" % MARKER)
    rest = seed_text[start:]
    stripped = rest.lstrip()
    try:
        obj, end = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError as e:
        raise SeedError("no valid JSON after the marker: %s" % e)
    if stripped[end:].strip():
        raise SeedError("unexpected text after the JSON object: %r"
                        % stripped[end:end + 60])
    if not isinstance(obj, dict) or not isinstance(obj.get("response"), list):
        raise SeedError("the JSON after the marker is not a Postman item "
                        "with a response list")
    names = [r.get("name") for r in obj["response"]]
    if names != EXPECTED_RESPONSES:
        raise SeedError("unexpected responses %r (expected %r)"
                        % (names, EXPECTED_RESPONSES))
    for r in obj["response"]:
        for key in ("code", "status", "header", "body"):
            if key not in r:
                raise SeedError("response %r has no %r" % (r.get("name"), key))
    return obj


def render(obj):
    """The exact bytes of the fixture file."""
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed", help="the seed document (text)")
    ap.add_argument("--check", action="store_true",
                    help="compare instead of writing; exit 1 on difference")
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="fixture path (default: %(default)s)")
    args = ap.parse_args(argv)

    try:
        with open(args.seed, encoding="utf-8") as f:
            text = f.read()
        data = render(extract(text))
    except (OSError, UnicodeDecodeError, SeedError) as e:
        print("extract_seed: %s: %s" % (args.seed, e), file=sys.stderr)
        return 2

    if args.check:
        try:
            with open(args.out, "rb") as f:
                current = f.read()
        except OSError as e:
            print("extract_seed: cannot read fixture: %s" % e, file=sys.stderr)
            return 1
        if current != data:
            print("extract_seed: %s differs from what %s gives; "
                  "re-run extract_seed.py %s" % (args.out, args.seed, args.seed),
                  file=sys.stderr)
            return 1
        print("extract_seed: %s is up to date" % args.out)
        return 0

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.out)
    print("extract_seed: wrote %s (%d bytes, %d responses)"
          % (args.out, len(data), len(json.loads(data)["response"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
