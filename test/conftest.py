"""test/conftest.py: pytest fixtures and hooks of the Python suites.

The environment.  Before collection (the suites read some of it when they
are imported) the run decides what it reuses:
  - the cluster: the one PGHOST and PGPORT name, when both are set and it
    answers (scripts/test.sh exports them for the cluster it started);
    otherwise the "cluster" fixture starts a throwaway one with
    scripts/test_env.sh (scripts/lib.sh's functions, scripts/test.sh's
    settings: pg_cron preloaded, debug5 logging) in ZCRM_TEST_DIR.pytest on
    ZCRM_PGPORT (lib.sh's defaults: /tmp/zcrm_bulk.test.pytest, 54329), with
    the server of ZCRM_PGBIN (default /usr/lib/postgresql/15/bin);
  - the local API server ("mock"), its HTTPS instances ("tls_mocks") and
    nginx for HTTP/2 ("h2"): each is reused when its port answers
    (ZCRM_MOCK_PORT, default 18089, and the ports after it, as in
    scripts/test.sh), and started the same way otherwise.
Whatever a fixture started is stopped, and its directories removed, at the
end of the session.  Secrets missing from the environment are made the way
scripts/lib.sh makes them, new for the run.

Each test module gets a database of its own ("database", autouse): the
module's DB (default zcrmtest.DB), created with zcrm_bulk (unless the module
sets EXTENSION = False) and dropped after the module; a module that sets
NEEDS_CLUSTER = False gets none and starts nothing.  "roles" creates roles
for one test and drops them after it.  A module may name the order of its
tests (ORDER); any test selected alone (pytest -k) runs in a fresh module
database with the module's fixtures.

Checks are soft (zcrmtest.check): a test runs all its checks and fails at
its end if any of them failed, naming them.  After the run one closing line
"N passed, N failed" is printed, last: passed are the checks that passed;
failed are the checks that failed, plus each test that failed or errored
without a failing check, each skipped test and each collection error.  A
skipped test also makes the exit status non-zero.
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zcrmtest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_SCRIPT = os.path.join(ROOT, "scripts", "test_env.sh")


def _hex(n):
    return os.urandom(n).hex()


def _cluster_answers():
    """Whether PGHOST/PGPORT name a running cluster."""
    if not (os.environ.get("PGHOST") and os.environ.get("PGPORT")) or not shutil.which("psql"):
        return False
    try:
        r = subprocess.run(["psql", "-X", "-At", "-d", "postgres", "-c", "SELECT 1"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r.stdout.strip() == "1"


def _url_answers(url):
    """Whether a GET of url answers 200 (https: with the test CA trusted)."""
    try:
        ctx = None
        if url.startswith("https:"):
            if not os.path.exists(os.environ["ZCRM_CA_FILE"]):
                return False
            ctx = ssl.create_default_context(cafile=os.environ["ZCRM_CA_FILE"])
        with urllib.request.urlopen(url, timeout=3, context=ctx) as r:
            return r.status == 200
    except (OSError, ValueError):
        return False


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
        return True
    except OSError:
        return False


class Environment:
    """What this run reuses and what it started (and must stop)."""

    def __init__(self):
        e = os.environ
        e.setdefault("ZCRM_PGBIN", "/usr/lib/postgresql/15/bin")
        e.setdefault("ZCRM_MOCK_PORT", "18089")
        mock = int(e["ZCRM_MOCK_PORT"])
        for name, offset in (("ZCRM_TLS_PORT", 1), ("ZCRM_TLS_WRONG_HOST_PORT", 2),
                             ("ZCRM_TLS_SELF_SIGNED_PORT", 3), ("ZCRM_H2_PORT", 4)):
            e.setdefault(name, str(mock + offset))
        e.setdefault("ZCRM_TEST_TOKEN", "1000.zcrmtest.accesstoken")
        e.setdefault("ZCRM_TEST_SLASH_TOKEN", "1000.%s/%s+%s==" % (_hex(6), _hex(4), _hex(4)))
        e.setdefault("ZCRM_TEST_RT_SECRET", _hex(12))
        e.setdefault("ZCRM_TEST_CLIENT_SECRET", "cs" + _hex(12))
        e.setdefault("ZCRM_LOAD_SECONDS", "60")
        self.dir = e.get("ZCRM_TEST_DIR", "/tmp/zcrm_bulk.test") + ".pytest"
        self.reuse_cluster = _cluster_answers()
        if not self.reuse_cluster:
            e["PGHOST"] = self.dir
            e["PGPORT"] = e.get("ZCRM_PGPORT", "54329")
            e["PGUSER"] = "postgres"
        e.setdefault("ZCRM_PGPORT", e["PGPORT"])
        e.setdefault("ZCRM_SERVER_LOG", os.path.join(self.dir, "postgres.log"))
        e.setdefault("ZCRM_CA_FILE", os.path.join(self.dir, "certs", "ca.pem"))
        e.setdefault("ZCRM_H2_DIR", self.dir + ".nginx")
        e.setdefault("ZCRM_RESTORE_DIR", self.dir + ".restore")
        self.started = []

    def start(self, piece):
        """Start one piece with scripts/test_env.sh (its log on stderr)."""
        print("# conftest: starting %s in %s" % (piece, self.dir), file=sys.stderr)
        self.started.append(piece)
        subprocess.run(["bash", ENV_SCRIPT, piece, self.dir], check=True, timeout=300)

    def serving(self, base, piece):
        """base, once an instance of the local API server answers there:
        the running one, or the piece started for it."""
        if not _url_answers(base + "/__admin/stats"):
            self.start(piece)
        return base

    def stop(self):
        if self.started:
            print("# conftest: stopping %s" % ", ".join(self.started), file=sys.stderr)
            subprocess.run(["bash", ENV_SCRIPT, "stop", self.dir], timeout=120)
            self.started = []


ENV = None
COUNTS = {"bad": set(), "skipped": set(), "collect_errors": 0}


def pytest_configure(config):
    global ENV
    ENV = Environment()


@pytest.fixture(scope="session")
def zcrm_environment():
    yield ENV
    ENV.stop()


@pytest.fixture(scope="session")
def cluster(zcrm_environment):
    """The cluster (PGHOST, PGPORT) the run uses, started if need be."""
    if not zcrm_environment.reuse_cluster:
        zcrm_environment.start("cluster")
    return os.environ["PGHOST"], os.environ["PGPORT"]


@pytest.fixture(scope="session")
def mock(cluster, zcrm_environment):
    """The base URL of the local API server (plain HTTP)."""
    return zcrm_environment.serving("http://127.0.0.1:%s" % os.environ["ZCRM_MOCK_PORT"], "mock")


@pytest.fixture(scope="session")
def tls_mocks(mock, zcrm_environment):
    """The base URL of the local API server over HTTPS (ZCRM_CA_FILE
    trusts it); the wrong-host and self-signed instances run with it."""
    return zcrm_environment.serving("https://127.0.0.1:%s" % os.environ["ZCRM_TLS_PORT"], "tls")


@pytest.fixture(scope="session")
def h2(tls_mocks, zcrm_environment):
    """nginx serving the seed's job over HTTPS with HTTP/2 on ZCRM_H2_PORT;
    the test is skipped (and so counted failed) if it cannot be started."""
    port = os.environ["ZCRM_H2_PORT"]
    if not _port_open(port):
        try:
            zcrm_environment.start("h2")
        except subprocess.CalledProcessError as e:
            pytest.skip("nginx could not be started: %s" % e)
    return port


@pytest.fixture(scope="module", autouse=True)
def database(request):
    """The module's database, with zcrm_bulk, dropped after the module."""
    module = request.module
    if not getattr(module, "NEEDS_CLUSTER", True):
        yield None
        return
    request.getfixturevalue("mock")
    name = getattr(module, "DB", zcrmtest.DB)
    saved = zcrmtest.DB
    zcrmtest.DB = name
    zcrmtest.psql("DROP DATABASE IF EXISTS %s" % name, db="postgres")
    zcrmtest.psql("CREATE DATABASE %s" % name, db="postgres")
    if getattr(module, "EXTENSION", True):
        zcrmtest.psql("CREATE EXTENSION zcrm_bulk", db=name)
    yield name
    zcrmtest.psql("DROP DATABASE IF EXISTS %s" % name, db="postgres")
    zcrmtest.DB = saved


@pytest.fixture
def roles(database):
    """roles(name, ..., options=""): create the roles (dropped first if a
    run left them); after the test, whatever they own in the module's
    database is dropped, and so are they."""
    made = []

    def create(*names, options=""):
        for name in names:
            zcrmtest.psql("DROP ROLE IF EXISTS %s" % name, db="postgres")
            zcrmtest.psql("CREATE ROLE %s %s" % (name, options), db="postgres")
            made.append(name)
        return names

    yield create
    for name in reversed(made):
        for db in (database, "postgres"):
            try:
                zcrmtest.psql("DROP OWNED BY %s" % name, db=db)
            except subprocess.CalledProcessError:
                pass
        zcrmtest.psql("DROP ROLE IF EXISTS %s" % name, db="postgres")


def pytest_collection_modifyitems(items):
    """Tests of a module that names its order (ORDER, a list of test
    function names) run in that order; the others in definition order."""
    def key(item):
        order = getattr(item.module, "ORDER", None)
        name = item.originalname or item.name
        return order.index(name) if order and name in order else -1
    modules = {}
    for i, item in enumerate(items):
        modules.setdefault(item.module, []).append(i)
    for positions in modules.values():
        group = sorted((items[i] for i in positions), key=key)
        for i, item in zip(positions, group):
            items[i] = item


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    zcrmtest.current_test[0] = item.nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run the test, then fail it if any of its checks failed."""
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    pyfuncitem.obj(**args)
    failed = [name for name, ok, test in zcrmtest.results
              if test == pyfuncitem.nodeid and not ok]
    if failed:
        pytest.fail("%d failed check(s): %s" % (len(failed), "; ".join(failed)), pytrace=False)
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_report_teststatus(report, config):
    """No progress letters (".", "F"): the tests' own "ok N" and "# " lines
    must start their lines (scripts/test.sh greps them)."""
    outcome = yield
    status = outcome.get_result()
    if status and not config.getoption("verbose") > 0:
        outcome.force_result((status[0], "", status[2]))


def pytest_runtest_logreport(report):
    if report.failed:
        COUNTS["bad"].add(report.nodeid)
    elif report.skipped:
        COUNTS["skipped"].add(report.nodeid)


def pytest_collectreport(report):
    if report.failed:
        COUNTS["collect_errors"] += 1


def closing_counts():
    """(passed, failed) of the closing line."""
    passed = sum(1 for _, ok, _ in zcrmtest.results if ok)
    failed = len(zcrmtest.results) - passed
    with_failed_check = {test for _, ok, test in zcrmtest.results if not ok}
    failed += len(COUNTS["bad"] - with_failed_check)
    failed += len(COUNTS["skipped"] - COUNTS["bad"])
    failed += COUNTS["collect_errors"]
    return passed, failed


def pytest_sessionfinish(session, exitstatus):
    if closing_counts()[1] and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_unconfigure(config):
    line = "%d passed, %d failed" % closing_counts()
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    else:
        print(line)
