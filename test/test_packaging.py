"""test/test_packaging.py: the PGXN metadata and `make dist`.

  1. META.json is JSON with the keys PGXN's meta spec 1.0.0 requires (name,
     abstract, version, maintainer, license, provides, meta-spec 1.0.0), a
     semantic version, and the prereqs the extension has (PostgreSQL 15 at
     run time; libcurl, cJSON and minizip to build);
  2. its version is the control file's default_version as a semantic
     version (2.1 -> 2.1.0), and so is the version of what it provides,
     whose file exists;
  3. `make dist` builds zcrm_bulk-<version>.zip from the commit (git
     archive) holding, under zcrm_bulk-<version>/, every tracked file, the
     META.json, the control file and each SQL script among them, and
     nothing that is not tracked (build output).

Run from anywhere: pytest test/test_packaging.py (it needs no cluster and
starts nothing).  It needs the source tree to be a git checkout (a clean
clone is).
"""

import json
import os
import re
import subprocess
import zipfile

import pytest

import zcrmtest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEEDS_CLUSTER = False


def check(name, ok, detail=""):
    zcrmtest.check(name, ok, str(detail)[:500])


@pytest.fixture(scope="module")
def meta():
    """META.json parsed, or the error reading or parsing it."""
    try:
        with open(os.path.join(ROOT, "META.json")) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return e


def control_version():
    with open(os.path.join(ROOT, "zcrm_bulk.control")) as f:
        m = re.search(r"^default_version\s*=\s*'([^']+)'", f.read(), re.M)
    return m.group(1) if m else None


def semantic(v):
    """2.1 -> 2.1.0; 2.1.3 stays."""
    parts = v.split(".")
    return ".".join(parts + ["0"] * (3 - len(parts)))


def meta_test(meta):
    if isinstance(meta, Exception):
        check("META.json is JSON", False, meta)
        return
    check("META.json is JSON", True)
    required = ["name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"]
    missing = [k for k in required if not meta.get(k)]
    check("META.json has every key the meta spec 1.0.0 requires", not missing, missing)
    check("META.json follows meta spec 1.0.0 and names zcrm_bulk",
          meta.get("meta-spec", {}).get("version") == "1.0.0" and meta.get("name") == "zcrm_bulk",
          meta.get("meta-spec"))
    check("its version is semantic (x.y.z)",
          re.fullmatch(r"\d+\.\d+\.\d+", str(meta.get("version"))) is not None, meta.get("version"))
    want = semantic(control_version() or "")
    provided = meta.get("provides", {}).get("zcrm_bulk", {})
    check("its version and the provided extension's are the control file's (%s)" % want,
          meta.get("version") == want and provided.get("version") == want,
          "%s %s %s" % (meta.get("version"), provided.get("version"), want))
    check("the file it names for the extension exists",
          os.path.isfile(os.path.join(ROOT, provided.get("file", "?"))), provided.get("file"))
    run = meta.get("prereqs", {}).get("runtime", {}).get("requires", {})
    build = meta.get("prereqs", {}).get("build", {}).get("requires", {})
    check("prereqs: PostgreSQL 15 at run time; libcurl, cJSON and minizip to build",
          str(run.get("PostgreSQL", "")).startswith("15.")
          and all(k in build for k in ("libcurl", "cJSON", "minizip")), meta.get("prereqs"))


def dist_test(meta):
    version = meta.get("version") if isinstance(meta, dict) else None
    name = "zcrm_bulk-%s.zip" % version
    path = os.path.join(ROOT, name)
    if os.path.exists(path):
        os.unlink(path)
    out = subprocess.run(["make", "-s", "-C", ROOT, "dist"], capture_output=True, text=True)
    check("make dist succeeds", out.returncode == 0, out.stderr[-500:])
    if not os.path.isfile(path):
        check("make dist writes %s" % name, False, os.listdir(ROOT))
        return
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
        tracked = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True,
                                 text=True, check=True).stdout.split()
        prefix = "zcrm_bulk-%s/" % version
        files = {n[len(prefix):] for n in names if n.startswith(prefix) and not n.endswith("/")}
        sql = [t for t in tracked if re.fullmatch(r"sql/zcrm_bulk--[\d.]+(--[\d.]+)?\.sql", t)]
        check("%s holds every tracked file under %s" % (name, prefix),
              set(tracked) <= files and all(n.startswith(prefix) for n in names),
              sorted(set(tracked) - files)[:10])
        check("among them META.json, the control file and the %d SQL scripts" % len(sql),
              {"META.json", "zcrm_bulk.control", "Makefile"} <= files and len(sql) > 5
              and all(s in files for s in sql), len(sql))
        check("and nothing untracked (no build output)", files <= set(tracked),
              sorted(files - set(tracked))[:10])
    finally:
        os.unlink(path)

