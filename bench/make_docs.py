#!/usr/bin/env python3
"""bench/make_docs.py: the job-details documents nginx serves to the benchmark.

Usage: make_docs.py SEED_COLLECTION WWW_ROOT VERSION ID=SPEC [ID=SPEC ...]

Writes WWW_ROOT/crm/bulk/VERSION/write/<ID> for every ID=SPEC, where SPEC is

  seed      the body of the seed's "SUCCESS RESPONSE", byte for byte
  maps:<n>  the seed's success document, parsed with the json module, with
            "id" set to ID and the field mappings of its one resource
            replaced by <n> generated ones:
            {"api_name": "Field_<i>", "index": <i>} for i = 0 .. n-1, plus
            "default_value": {"value": "v<i>"} on every 10th (i % 10 == 0)

and prints one line per document: "<ID> <bytes> <mappings>".  Python 3
standard library only.
"""

import json
import os
import sys


def seed_success_body(path):
    """The body string of the seed collection's SUCCESS RESPONSE."""
    with open(path, encoding="utf-8") as f:
        collection = json.load(f)
    for response in collection["response"]:
        if response.get("name") == "SUCCESS RESPONSE":
            return response["body"]
    raise SystemExit("make_docs.py: no SUCCESS RESPONSE in %s" % path)


def with_mappings(seed_body, job_id, n):
    """The seed document with n generated field mappings in its one resource."""
    doc = json.loads(seed_body)
    doc["id"] = job_id
    if len(doc["resource"]) != 1:
        raise SystemExit("make_docs.py: the seed document should have one resource")
    mappings = []
    for i in range(n):
        m = {"api_name": "Field_%d" % i, "index": i}
        if i % 10 == 0:
            m["default_value"] = {"value": "v%d" % i}
        mappings.append(m)
    doc["resource"][0]["field_mappings"] = mappings
    # Formatted like the seed (one-space indentation), UTF-8.
    return json.dumps(doc, indent=1, ensure_ascii=False)


def main(argv):
    if len(argv) < 5:
        raise SystemExit(__doc__)
    seed_path, www, version = argv[1:4]
    body = seed_success_body(seed_path)
    outdir = os.path.join(www, "crm", "bulk", version, "write")
    os.makedirs(outdir, exist_ok=True)
    for arg in argv[4:]:
        job_id, _, spec = arg.partition("=")
        if not job_id.isdigit():
            raise SystemExit("make_docs.py: bad job id %r" % job_id)
        if spec == "seed":
            text, n = body, len(json.loads(body)["resource"][0]["field_mappings"])
        elif spec.startswith("maps:"):
            n = int(spec[5:])
            text = with_mappings(body, job_id, n)
        else:
            raise SystemExit("make_docs.py: bad spec %r" % spec)
        data = text.encode("utf-8")
        with open(os.path.join(outdir, job_id), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(outdir, job_id), 0o644)
        print(job_id, len(data), n)


if __name__ == "__main__":
    main(sys.argv)
