#!/usr/bin/python3
"""Self-test of zoho_mock.py over raw sockets (nothing normalised).

Starts zoho_mock.py on a free port (--port 0, port read from --ready-file),
talks HTTP/1.1 to it byte by byte, and checks the seed replays, routing,
keep-alive, the request log (with bytes_sent/complete), the scenario table,
the generated wrong-JSON-type jobs, the generated 51 (delayed seed success
with the requested id) and 52 (N field mappings) families, --delay-ms, the
in_flight/max_in_flight counts of /__admin/stats, the OAuth token endpoint
(/oauth/v2/token, issued tokens on the API, revocation, expiry, counts, no
secret in the log) and a clean SIGTERM while a handler is stalled.  Also runs `extract_seed.py --check` on the seed, and make_certs.sh
(the openssl CLI is required: without it the TLS tests fail) to test
--tls-cert/--tls-key.

    /usr/bin/python3 test/server/test_server.py [-v]

The seed document is looked for in $ZCRM_SEED_FILE, then
<repo>/../shared/seed/000_8ced99537aecdabc.txt, then
/work/shared/seed/000_8ced99537aecdabc.txt.

Ends by printing one line "N passed, N failed"; exit status 1 on failure.
Standard library only.
"""

import csv
import email.parser
import email.policy
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable or "/usr/bin/python3"
MOCK = os.path.join(HERE, "zoho_mock.py")
EXTRACT = os.path.join(HERE, "extract_seed.py")
MAKE_CERTS = os.path.join(HERE, "make_certs.sh")
SEED_FIXTURE = os.path.join(HERE, "fixtures", "seed_collection.json")
JOBS = os.path.join(HERE, "fixtures", "jobs")
SEED_NAME = "000_8ced99537aecdabc.txt"

sys.path.insert(0, HERE)
import lifecycle  # noqa: E402  (RESULT_VARIANTS, BOMB_SIZE)

TOKEN = "1000.zcrmtest.accesstoken"
TOKEN2 = "1000.second.token.for.tests"
BAD_TOKEN = "1000.not-a-valid-token-xyz"
AUTH = "Zoho-oauthtoken " + TOKEN
WRITE = "/crm/bulk/v2/write/"
MIB = 1024 * 1024


def find_seed():
    cands = [os.environ.get("ZCRM_SEED_FILE"),
             os.path.join(os.path.dirname(REPO), "shared", "seed", SEED_NAME),
             os.path.join("/work/shared/seed", SEED_NAME)]
    for c in cands:
        if c and os.path.isfile(c):
            return c, cands
    return None, cands


# ---------------------------------------------------------------------------
# Raw HTTP/1.1 client
# ---------------------------------------------------------------------------

class Response:
    pass


class ProtocolError(AssertionError):
    pass


class Conn:
    """One TCP connection; requests are written raw, responses parsed strictly.

    tls: an ssl.SSLContext to speak HTTPS (server_hostname: the name checked
    against the certificate, default 127.0.0.1).
    """

    def __init__(self, port, timeout=10.0, tls=None, server_hostname="127.0.0.1"):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=server_hostname)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.rf = self.sock.makefile("rb")

    def close(self):
        try:
            self.rf.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, method, path, headers=(), body=b""):
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
        lines += ["%s: %s" % (k, v) for k, v in headers]
        if body:
            lines.append("Content-Length: %d" % len(body))
        req = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        self.sock.sendall(req)

    def line(self):
        ln = self.rf.readline(65537)
        if not ln:
            raise ProtocolError("connection closed while reading a line")
        if not ln.endswith(b"\r\n"):
            raise ProtocolError("line not ended by CRLF: %r" % ln[:80])
        return ln[:-2]

    def read_exact(self, n):
        data = self.rf.read(n)
        if data is None or len(data) != n:
            raise ProtocolError("short body: wanted %d bytes, got %d"
                                % (n, len(data or b"")))
        return data

    def read_head(self):
        r = Response()
        status = self.line().decode("latin-1")
        r.status_line = status
        parts = status.split(" ", 2)
        if len(parts) != 3 or parts[0] != "HTTP/1.1":
            raise ProtocolError("bad status line %r" % status)
        r.code, r.reason = int(parts[1]), parts[2]
        r.headers = []
        while True:
            ln = self.line()
            if not ln:
                break
            k, sep, v = ln.decode("latin-1").partition(": ")
            if not sep:
                raise ProtocolError("bad header line %r" % ln)
            r.headers.append((k, v))
        r.h = {k.lower(): v for k, v in r.headers}
        return r

    def read_response(self, method="GET"):
        r = self.read_head()
        r.chunks = None
        te = r.h.get("transfer-encoding")
        if method == "HEAD" or r.code == 204 or 100 <= r.code < 200:
            r.wire = b""
        elif te is not None:
            if te != "chunked":
                raise ProtocolError("unexpected Transfer-Encoding %r" % te)
            if "content-length" in r.h:
                raise ProtocolError("both Content-Length and chunked")
            r.chunks = []
            out = bytearray()
            while True:
                size_line = self.line().decode("latin-1")
                if not size_line or any(c not in "0123456789abcdefABCDEF"
                                        for c in size_line):
                    raise ProtocolError("bad chunk size line %r" % size_line)
                size = int(size_line, 16)
                if size == 0:
                    if self.line() != b"":
                        raise ProtocolError("trailer after the last chunk")
                    break
                out += self.read_exact(size)
                if self.read_exact(2) != b"\r\n":
                    raise ProtocolError("chunk data not followed by CRLF")
                r.chunks.append(size)
            r.wire = bytes(out)
        elif "content-length" in r.h:
            r.wire = self.read_exact(int(r.h["content-length"]))
        else:
            r.wire = self.rf.read()
        r.body = r.wire
        if r.h.get("content-encoding") == "gzip":
            r.body = gzip.decompress(r.wire)
        return r

    def request(self, method, path, headers=(), body=b""):
        self.send(method, path, headers, body)
        return self.read_response(method)


def get(port, path, auth=AUTH, method="GET", extra=(), tls=None):
    headers = list(extra)
    if auth is not None:
        headers.append(("Authorization", auth))
    with Conn(port, tls=tls) as c:
        return c.request(method, path, headers)


def timed_get(port, path, **kw):
    """get(), and the seconds from just before connecting to the last byte."""
    t = time.monotonic()
    r = get(port, path, **kw)
    return r, time.monotonic() - t


def in_parallel(fn, args_list):
    """fn(*args) for each args in its own thread, all at once; the results
    in order (an exception in a thread is re-raised here)."""
    out = [None] * len(args_list)

    def run(i, args):
        try:
            out[i] = (True, fn(*args))
        except BaseException as e:          # noqa: B902 - re-raised below
            out[i] = (False, e)
    threads = [threading.Thread(target=run, args=(i, a))
               for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for ok, value in out:
        if not ok:
            raise value
    return [value for _, value in out]


def wait_until(fn, timeout=5.0, what="condition"):
    """Poll fn() every 20 ms until it returns a true value; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.02)


def chunked_wire_len(chunks):
    """Bytes of a chunked message body with these chunk sizes, framing included."""
    return sum(len(b"%x\r\n" % n) + n + 2 for n in chunks) + len(b"0\r\n\r\n")


# ---------------------------------------------------------------------------
# Server process
# ---------------------------------------------------------------------------

class MockProcess:
    def __init__(self, tokens=(TOKEN, TOKEN2), extra_args=(), tls=None):
        self.tls = tls              # client SSLContext for admin requests
        self.dir = tempfile.mkdtemp(prefix="zoho_mock_test.")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.pidfile = os.path.join(self.dir, "mock.pid")
        self.ready = os.path.join(self.dir, "mock.ready")
        cmd = [PY, MOCK, "--host", "127.0.0.1", "--port", "0",
               "--log", self.log, "--pidfile", self.pidfile,
               "--ready-file", self.ready]
        for t in tokens:
            cmd += ["--token", t]
        cmd += list(extra_args)
        self.stderr = open(os.path.join(self.dir, "stderr.txt"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(self.ready):
                with open(self.ready) as f:
                    info = json.load(f)
                self.port = info["port"]
                self.url = info["url"]
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("zoho_mock did not become ready: %s"
                           % open(self.stderr.name).read())

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def admin(self, method, what):
        with Conn(self.port, tls=self.tls) as c:
            r = c.request(method, "/__admin/" + what)
        assert r.code == 200, (what, r.code)
        return json.loads(r.body)

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def finished_entry(self, job_id, timeout=10.0):
        """The newest /__admin/requests entry for job_id, once its response
        has ended ("complete" no longer null)."""
        deadline = time.monotonic() + timeout
        while True:
            mine = [e for e in self.admin("GET", "requests") if e["job_id"] == job_id]
            if mine and mine[-1]["complete"] is not None:
                return mine[-1]
            if time.monotonic() > deadline:
                raise AssertionError("no finished log entry for %s: %r" % (job_id, mine))
            time.sleep(0.05)

    def log_lines(self):
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f]


SERVER = None


def setUpModule():
    global SERVER
    SERVER = MockProcess()


def tearDownModule():
    if SERVER:
        SERVER.stop()
        SERVER.cleanup()


def load_seed():
    with open(SEED_FIXTURE, encoding="utf-8") as f:
        return {r["name"]: r for r in json.load(f)["response"]}


def expected_seed_headers(item):
    """The seed's header list; Content-Length = the body's real length.

    (Every Content-Length in the seed is 12 less than its body string; the
    mock sends the real length, see zoho_mock.SeedReply.)
    """
    body = item["body"].encode("utf-8")
    out = []
    for h in item["header"]:
        k, v = h["key"], h["value"]
        if k.lower() == "content-length":
            v = str(len(body))
        out.append((k, v))
    return out


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

class SeedReplayTest(unittest.TestCase):
    seed = load_seed()

    def check_seed(self, r, name):
        item = self.seed[name]
        self.assertEqual(r.status_line,
                         "HTTP/1.1 %d %s" % (item["code"], item["status"]))
        self.assertEqual(r.headers, expected_seed_headers(item))
        chunked = r.h.get("transfer-encoding") == "chunked"
        if chunked:
            self.assertGreater(len(r.chunks), 1, "split into several chunks")
            self.assertTrue(all(0 < n <= 64 for n in r.chunks), r.chunks)
        else:
            self.assertEqual(int(r.h["content-length"]), len(r.wire))
        if r.h.get("content-encoding") == "gzip":
            self.assertEqual(r.wire[:2], b"\x1f\x8b")
        self.assertEqual(r.body, item["body"].encode("utf-8"))

    def test_success(self):
        self.check_seed(get(SERVER.port, WRITE + "4150868000005392002"),
                        "SUCCESS RESPONSE")

    def test_success_is_deterministic(self):
        a = get(SERVER.port, WRITE + "4150868000005392002")
        b = get(SERVER.port, WRITE + "4150868000005392002")
        self.assertEqual((a.headers, a.wire, a.chunks), (b.headers, b.wire, b.chunks))

    def test_invalid_url_pattern(self):
        self.check_seed(get(SERVER.port, "/crm/bulk/v2/writ/4150868000005392002"),
                        "INVALID_URL_PATTERN")

    def test_invalid_request_method_copy(self):
        self.check_seed(get(SERVER.port, WRITE + "4150868000005392002",
                            method="COPY"), "INVALID_REQUEST_METHOD")

    def test_authentication_failure(self):
        self.check_seed(get(SERVER.port, WRITE + "4150868000005392002", auth=None),
                        "AUTHENTICATION_FAILURE")

    def test_resource_not_found(self):
        self.check_seed(get(SERVER.port, WRITE + "415086800000539200"),
                        "RESOURCE_NOT_FOUND")

    def test_replays_by_job_id(self):
        for job, name in (("2000000000000000405", "INVALID_URL_PATTERN"),
                          ("2000000000000000406", "INVALID_REQUEST_METHOD"),
                          ("2000000000000000407", "AUTHENTICATION_FAILURE")):
            with self.subTest(job=job):
                self.check_seed(get(SERVER.port, WRITE + job), name)

    def test_seed_content_length_discrepancy_is_known(self):
        # Documents what the seed says; the mock sends the real lengths.
        for name, seed_cl in (("INVALID_URL_PATTERN", 131),
                              ("INVALID_REQUEST_METHOD", 124),
                              ("AUTHENTICATION_FAILURE", 98)):
            item = self.seed[name]
            cl = [h["value"] for h in item["header"] if h["key"] == "Content-Length"]
            self.assertEqual(cl, [str(seed_cl)])
            self.assertEqual(len(item["body"].encode()), seed_cl + 12)

    def test_all_replays_on_one_keepalive_connection(self):
        with Conn(SERVER.port) as c:
            for method, path, auth, name in (
                    ("GET", WRITE + "4150868000005392002", AUTH, "SUCCESS RESPONSE"),
                    ("GET", "/crm/bulk/v2/writ/4150868000005392002", AUTH, "INVALID_URL_PATTERN"),
                    ("COPY", WRITE + "4150868000005392002", AUTH, "INVALID_REQUEST_METHOD"),
                    ("GET", WRITE + "4150868000005392002", None, "AUTHENTICATION_FAILURE"),
                    ("GET", WRITE + "415086800000539200", AUTH, "RESOURCE_NOT_FOUND")):
                hdrs = [("Authorization", auth)] if auth else []
                self.check_seed(c.request(method, path, hdrs), name)


class RoutingTest(unittest.TestCase):

    def test_other_methods(self):
        with Conn(SERVER.port) as c:
            for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOOBAR", "COPY"):
                with self.subTest(method=m):
                    r = c.request(m, WRITE + "4150868000005392002",
                                  [("Authorization", AUTH)], body=b'{"a":1}')
                    self.assertEqual(r.code, 400)
                    self.assertEqual(json.loads(r.body)["code"], "INVALID_REQUEST_METHOD")
            # the connection is still usable after requests with bodies
            r = c.request("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            self.assertEqual(r.code, 200)

    def test_head_sends_no_body(self):
        with Conn(SERVER.port) as c:
            r = c.request("HEAD", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            self.assertEqual(r.code, 400)
            self.assertEqual(r.h["content-length"], "136")
            r = c.request("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            self.assertEqual(r.code, 200)

    def test_versions(self):
        for v in ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"):
            with self.subTest(v=v):
                r = get(SERVER.port, "/crm/bulk/%s/write/4150868000005350003" % v)
                self.assertEqual(r.code, 200)
        for path in ("/crm/bulk/v1/write/4150868000005350003",
                     "/crm/bulk/v9/write/4150868000005350003",
                     "/crm/bulk/v2.2/write/4150868000005350003",
                     "/crm/bulk/v2/write/41508680000053500x3",
                     "/crm/bulk/v2/write/4150868000005350003/",
                     "/crm/v2/write/4150868000005350003", "/"):
            with self.subTest(path=path):
                r = get(SERVER.port, path)
                self.assertEqual(r.code, 404)
                self.assertEqual(json.loads(r.body)["code"], "INVALID_URL_PATTERN")
        # the create path exists, for POST only
        r = get(SERVER.port, "/crm/bulk/v2/write")
        self.assertEqual(json.loads(r.body)["code"], "INVALID_REQUEST_METHOD")

    def test_query_string_ignored(self):
        r = get(SERVER.port, WRITE + "4150868000005350003?x=1")
        self.assertEqual(r.code, 200)

    def test_bad_tokens(self):
        seed401 = [h["key"] for h in load_seed()["AUTHENTICATION_FAILURE"]["header"]]
        for auth in ("Zoho-oauthtoken " + BAD_TOKEN, "Bearer " + TOKEN,
                     "zoho-oauthtoken " + TOKEN, "Zoho-oauthtoken  " + TOKEN,
                     "Zoho-oauthtoken " + TOKEN + "x", TOKEN, ""):
            with self.subTest(auth=auth):
                r = get(SERVER.port, WRITE + "4150868000005392002", auth=auth)
                self.assertEqual(r.status_line, "HTTP/1.1 401 Unauthorized")
                self.assertEqual(json.loads(r.body), {
                    "code": "INVALID_TOKEN", "details": {},
                    "message": "invalid oauth token", "status": "error"})
                self.assertEqual([k for k, _ in r.headers], seed401)
                self.assertEqual(int(r.h["content-length"]), len(r.wire))
        # two Authorization headers, even if one is right
        with Conn(SERVER.port) as c:
            r = c.request("GET", WRITE + "4150868000005392002",
                          [("Authorization", AUTH), ("Authorization", AUTH)])
            self.assertEqual(json.loads(r.body)["code"], "INVALID_TOKEN")

    def test_second_token_accepted(self):
        r = get(SERVER.port, WRITE + "4150868000005392002",
                auth="Zoho-oauthtoken " + TOKEN2)
        self.assertEqual(r.code, 200)

    def test_error_scenarios(self):
        cases = {
            "2000000000000000400": (400, "AUTHORIZATION_FAILED"),
            "2000000000000000401": (401, "OAUTH_SCOPE_MISMATCH"),
            "2000000000000000402": (401, "INVALID_TOKEN"),
            "2000000000000000403": (403, "NO_PERMISSION"),
            "2000000000000000404": (404, "RESOURCE_NOT_FOUND"),
            "2000000000000000408": (400, "SOMETHING_NEW"),
            "2000000000000000409": (418, None),
            "2000000000000000429": (429, "TOO_MANY_REQUESTS"),
            "2000000000000000500": (500, "INTERNAL_ERROR"),
            "2000000000000000200": (200, "INTERNAL_ERROR"),
        }
        for job, (code, err) in cases.items():
            with self.subTest(job=job):
                r = get(SERVER.port, WRITE + job)
                self.assertEqual(r.code, code)
                doc = json.loads(r.body)
                self.assertEqual(doc.get("code"), err)
                self.assertEqual(doc["status"], "error")
        self.assertEqual(json.loads(get(SERVER.port, WRITE + "2000000000000000403").body)
                         ["details"], {"permissions": ["Crm_Implied_Api_Access"]})

    def test_non_json_errors(self):
        cases = {
            "2000000000000000410": (401, "text/html", b"<html"),
            "2000000000000000411": (403, "text/html", b"<html"),
            "2000000000000000430": (429, "text/plain", b"Too Many Requests"),
            "2000000000000000501": (500, "text/html", b"<html><body><h1>500 Internal Server Error</h1></body></html>"),
            "2000000000000000502": (502, None, b""),
            "2000000000000000503": (503, "text/plain", b"Service Unavailable"),
            "2000000000000000202": (200, "application/json", b""),
            "2000000000000000201": (200, "application/json", b'{"status": "COMPLETED", "id": '),
        }
        for job, (code, ctype, start) in cases.items():
            with self.subTest(job=job):
                r = get(SERVER.port, WRITE + job)
                self.assertEqual(r.code, code)
                if ctype:
                    self.assertTrue(r.h["content-type"].startswith(ctype), r.h)
                self.assertTrue(r.body.startswith(start), r.body[:80])
                if not start:
                    self.assertEqual(r.h.get("content-length"), "0")
                    self.assertEqual(r.body, b"")

    def test_204(self):
        with Conn(SERVER.port) as c:
            r = c.request("GET", WRITE + "2000000000000000204", [("Authorization", AUTH)])
            self.assertEqual(r.status_line, "HTTP/1.1 204 No Content")
            self.assertNotIn("content-length", r.h)
            self.assertNotIn("transfer-encoding", r.h)
            # nothing follows the head: the next response parses
            r = c.request("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            self.assertEqual(r.code, 200)

    def test_redirect(self):
        r = get(SERVER.port, WRITE + "2000000000000000301")
        self.assertEqual(r.status_line, "HTTP/1.1 302 Found")
        self.assertEqual(r.h["location"], "http://127.0.0.2:%d/crm/bulk/v2/write/"
                         "4150868000005392002" % SERVER.port)
        self.assertIn(b"<html>", r.body)


class ShapesTest(unittest.TestCase):

    def test_fixture_jobs_served_exactly(self):
        names = sorted(n[:-5] for n in os.listdir(JOBS) if n.endswith(".json"))
        self.assertEqual(len(names), 21)
        for job in names:
            with self.subTest(job=job):
                r = get(SERVER.port, WRITE + job)
                self.assertEqual(r.code, 200)
                self.assertEqual(r.h["content-type"], "application/json")
                self.assertEqual(r.h["transfer-encoding"], "chunked")
                self.assertEqual(r.h["content-encoding"], "gzip")
                with open(os.path.join(JOBS, job + ".json"), "rb") as f:
                    self.assertEqual(r.body, f.read())

    def test_shape_details(self):
        def doc(job):
            return json.loads(get(SERVER.port, WRITE + job).body)
        d = doc("4150868000005350003")
        f = d["resource"][0]["file"]
        self.assertEqual((f["added_count"], f["skipped_count"], f["updated_count"],
                          f["total_count"]), (9, 2, 0, 11))
        self.assertTrue(d["result"]["download_url"].startswith("https://"))
        d = doc("111111000000541958")
        self.assertEqual(d["resource"][0]["file"], {"status": "INPROGRESS"})
        for k in ("character_encoding", "result", "callback", "ignore_empty"):
            self.assertNotIn(k, d)
        d = doc("1000000000000000001")
        self.assertEqual([d["status"], d["resource"][0]["status"],
                          d["resource"][0]["file"]["status"]], ["IN PROGRESS"] * 3)
        self.assertEqual(d["resource"][0]["code"], "INPROGRESS")
        self.assertTrue(doc("1000000000000000002")["result"]["download_url"].startswith("/v7/"))
        d = doc("1000000000000000003")
        self.assertEqual([x["module"]["api_name"] for x in d["resource"]],
                         ["Products", "Vendors", "Price_Books"])
        self.assertEqual(d["resource"][2]["code"], "INPROGRESS")
        self.assertEqual(d["resource"][2]["file"]["status"], "COMPLETED")
        self.assertEqual(doc("1000000000000000004")["resource"], [])
        self.assertEqual(doc("1000000000000000005"),
                         {"id": "1000000000000000005", "status": "ADDED"})
        d = doc("1000000000000000006")
        self.assertIsNone(d["resource"][0]["field_mappings"][0]["parent_column_index"])
        self.assertEqual(doc("1000000000000000007")["status"], "FAILED")
        self.assertEqual(doc("1000000000000000008")["id"], 1000000000000008)
        raw = get(SERVER.port, WRITE + "1000000000000000009").body
        self.assertIn(b'"id": 4150868000005392002,', raw)
        self.assertEqual(doc("1000000000000000010")["ignore_empty"], "yes")
        self.assertEqual(doc("1000000000000000011")["resource"], {"type": "data"})
        self.assertEqual(doc("1000000000000000012")["resource"][0]["file"]["added_count"], "9")
        self.assertEqual(doc("1000000000000000013"), [{"id": "1"}])
        self.assertEqual(doc("1000000000000000014"), "COMPLETED")
        self.assertEqual(doc("1000000000000000015")["created_time"], "yesterday")
        self.assertEqual(doc("1000000000000000017")["resource"][0]["file"]["added_count"], 9.5)
        raw = get(SERVER.port, WRITE + "1000000000000000018").body
        self.assertIn(b'"Pat\\u0000ricia"', raw)
        raw = get(SERVER.port, WRITE + "1000000000000000019").body
        self.assertIn("Zoë Ōkubo 日本 😀".encode(), raw)
        self.assertIn("données.csv".encode(), raw)
        d = doc("1000000000000000020")
        self.assertEqual(d["resource"][0]["module"], "Leads")

    def test_invalid_utf8_raw(self):
        r = get(SERVER.port, WRITE + "1000000000000000016")
        self.assertEqual(r.code, 200)
        self.assertNotIn("content-encoding", r.h)
        self.assertEqual(int(r.h["content-length"]), len(r.wire))
        self.assertIn(b"\xc3\x28", r.body)
        self.assertIn(b"\xff", r.body)
        with self.assertRaises(UnicodeDecodeError):
            r.body.decode("utf-8")


class FaultsTest(unittest.TestCase):

    def test_alternation_503(self):
        SERVER.admin("POST", "reset")
        seed_body = load_seed()["SUCCESS RESPONSE"]["body"].encode()
        codes = []
        for i in range(4):
            r = get(SERVER.port, WRITE + "3000000000000000010")
            codes.append(r.code)
            if r.code == 200:
                self.assertEqual(r.body, seed_body)
            else:
                self.assertEqual(r.body, b"Service Unavailable")
        self.assertEqual(codes, [503, 200, 503, 200])
        SERVER.admin("POST", "reset")
        self.assertEqual(get(SERVER.port, WRITE + "3000000000000000010").code, 503)

    def test_alternation_429(self):
        SERVER.admin("POST", "reset")
        codes = [get(SERVER.port, WRITE + "3000000000000000011").code for _ in range(3)]
        self.assertEqual(codes, [429, 200, 429])

    def test_slow_success(self):
        t = time.monotonic()
        r = get(SERVER.port, WRITE + "3000000000000000012")
        self.assertGreaterEqual(time.monotonic() - t, 0.95)
        self.assertEqual(r.code, 200)

    def assert_sent(self, job, bytes_sent, complete=True, error=None):
        e = SERVER.finished_entry(job)
        self.assertEqual((e["bytes_sent"], e["complete"], e["error"]),
                         (bytes_sent, complete, error), e)
        return e

    def test_oversize_chunked(self):
        r = get(SERVER.port, WRITE + "3000000000000000004")
        self.assertEqual(len(r.body), 24 * MIB)
        self.assertNotIn("content-encoding", r.h)
        self.assertEqual(max(r.chunks), 64 * 1024)
        self.assertEqual(json.loads(r.body)["id"], "3000000000000000004")
        self.assert_sent("3000000000000000004", chunked_wire_len(r.chunks))

    def test_oversize_content_length(self):
        r = get(SERVER.port, WRITE + "3000000000000000005")
        self.assertEqual(r.h["content-length"], str(24 * MIB))
        self.assertEqual(json.loads(r.body)["status"], "ADDED")
        self.assert_sent("3000000000000000005", 24 * MIB)

    def test_gzip_bomb(self):
        r = get(SERVER.port, WRITE + "3000000000000000006")
        self.assertLess(len(r.wire), MIB)
        self.assertEqual(len(r.body), 64 * MIB)
        self.assertEqual(json.loads(r.body)["id"], "3000000000000000006")
        self.assert_sent("3000000000000000006", chunked_wire_len(r.chunks))

    def test_oversize_client_goes_away(self):
        # Read the head and 1 MiB, then close: the server's next write fails
        # and the entry says how far it got.
        for job in ("3000000000000000004", "3000000000000000005"):
            with self.subTest(job=job):
                with Conn(SERVER.port) as c:
                    c.send("GET", WRITE + job, [("Authorization", AUTH)])
                    c.read_head()
                    c.read_exact(MIB)
                e = SERVER.finished_entry(job)
                self.assertIs(e["complete"], False, e)
                self.assertIn(e["error"], ("BrokenPipeError", "ConnectionResetError"), e)
                self.assertGreaterEqual(e["bytes_sent"], MIB)
                self.assertLess(e["bytes_sent"], 24 * MIB)
                # the --log file has the same numbers in an "end" line
                ends = [x for x in SERVER.log_lines()
                        if x.get("event") == "end" and x["request"] == e["request"]]
                self.assertEqual(len(ends), 1, ends)
                self.assertEqual((ends[0]["bytes_sent"], ends[0]["complete"],
                                  ends[0]["error"], ends[0]["job_id"]),
                                 (e["bytes_sent"], False, e["error"], job))

    def test_bytes_sent_ordinary_and_head(self):
        r = get(SERVER.port, WRITE + "4150868000005392002")
        self.assert_sent("4150868000005392002", chunked_wire_len(r.chunks))
        r = get(SERVER.port, WRITE + "2000000000000000503")
        self.assert_sent("2000000000000000503", len(b"Service Unavailable"))
        # HEAD (answered INVALID_REQUEST_METHOD): the head only, no body bytes
        r = get(SERVER.port, WRITE + "2000000000000000500", method="HEAD")
        self.assertEqual((r.code, r.h["content-length"]), (400, "136"))
        self.assert_sent("2000000000000000500", 0)

    def test_truncated_gzip(self):
        with Conn(SERVER.port) as c:
            c.send("GET", WRITE + "3000000000000000007", [("Authorization", AUTH)])
            r = c.read_head()
            data = c.read_exact(int(r.h["content-length"]))
        self.assertEqual(r.h["content-encoding"], "gzip")
        with self.assertRaises((EOFError, zlib.error)):
            gzip.decompress(data)

    def test_deep_nesting(self):
        r = get(SERVER.port, WRITE + "3000000000000000009")
        self.assertEqual(r.body, b'{"id":"3000000000000000009","x":'
                         + b"[" * 100000 + b"]" * 100000 + b"}")

    def test_reset(self):
        with Conn(SERVER.port) as c:
            c.send("GET", WRITE + "3000000000000000003", [("Authorization", AUTH)])
            r = c.read_head()
            n = int(r.h["content-length"])
            got = b""
            with self.assertRaises(ConnectionResetError):
                while True:
                    piece = c.sock.recv(65536)   # raw: bypass the buffer's EOF
                    if not piece:
                        break
                    got += piece
                self.fail("no reset, got EOF after %d bytes" % len(got))
            self.assertLess(len(got), n)
        e = SERVER.finished_entry("3000000000000000003")
        self.assertEqual((e["bytes_sent"], e["complete"], e["error"]), (n // 3, False, None))

    def test_half_body_then_stall(self):
        with Conn(SERVER.port, timeout=1.0) as c:
            c.send("GET", WRITE + "3000000000000000002", [("Authorization", AUTH)])
            r = c.read_head()
            n = int(r.h["content-length"])
            got = c.rf.read1(n)
            self.assertEqual(len(got), n // 2)
            with self.assertRaises(socket.timeout):
                c.rf.read1(n)
        # the client is gone: the stall ends, the entry is finished, not complete
        e = SERVER.finished_entry("3000000000000000002")
        self.assertEqual((e["bytes_sent"], e["complete"], e["error"]), (n // 2, False, None))

    def test_stall_does_not_block_others(self):
        with Conn(SERVER.port, timeout=0.5) as stalled:
            stalled.send("GET", WRITE + "3000000000000000001", [("Authorization", AUTH)])
            t = time.monotonic()
            self.assertEqual(get(SERVER.port, WRITE + "4150868000005392002").code, 200)
            self.assertLess(time.monotonic() - t, 0.5)
            with self.assertRaises(socket.timeout):
                stalled.rf.read1(1)

    def test_drip(self):
        with Conn(SERVER.port, timeout=2.0) as c:
            c.send("GET", WRITE + "3000000000000000008", [("Authorization", AUTH)])
            r = c.read_head()
            self.assertEqual(r.h["transfer-encoding"], "chunked")
            t = time.monotonic()
            body = b""
            for _ in range(4):
                self.assertEqual(c.line(), b"1")
                body += c.read_exact(1)
                self.assertEqual(c.read_exact(2), b"\r\n")
            self.assertEqual(body, b'{"st')
            self.assertGreaterEqual(time.monotonic() - t, 0.5)


class AdminTest(unittest.TestCase):

    def test_keepalive_single_connection(self):
        SERVER.admin("POST", "reset")
        with Conn(SERVER.port) as c:
            r1 = c.request("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            r2 = c.request("GET", WRITE + "4150868000005350003", [("Authorization", AUTH)])
            self.assertEqual((r1.code, r2.code), (200, 200))
            stats = json.loads(c.request("GET", "/__admin/stats").body)
            reqs = json.loads(c.request("GET", "/__admin/requests").body)
        self.assertEqual(stats, {"connections": 1, "requests": 2,
                                 "tls_handshake_failures": 0,
                                 "in_flight": 0, "max_in_flight": 1})
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[0]["connection"], reqs[1]["connection"])
        self.assertEqual([x["job_id"] for x in reqs],
                         ["4150868000005392002", "4150868000005350003"])

    def test_separate_connections_counted(self):
        SERVER.admin("POST", "reset")
        get(SERVER.port, WRITE + "4150868000005392002")
        get(SERVER.port, WRITE + "4150868000005392002")
        stats = SERVER.admin("GET", "stats")
        # two API connections + the one this stats request came on
        self.assertEqual(stats, {"connections": 3, "requests": 2,
                                 "tls_handshake_failures": 0,
                                 "in_flight": 0, "max_in_flight": 1})

    def test_no_request_left(self):
        # The pattern the README documents: reset, act, then the log is [].
        get(SERVER.port, WRITE + "4150868000005392002")
        SERVER.admin("POST", "reset")
        self.assertEqual(SERVER.admin("GET", "requests"), [])
        self.assertEqual(SERVER.admin("GET", "stats")["requests"], 0)
        get(SERVER.port, "/crm/bulk/v2/writ/1")        # any API request is logged
        self.assertEqual(len(SERVER.admin("GET", "requests")), 1)

    def test_reset_resets_both_alternations(self):
        get(SERVER.port, WRITE + "3000000000000000010")
        get(SERVER.port, WRITE + "3000000000000000011")
        SERVER.admin("POST", "reset")
        self.assertEqual([get(SERVER.port, WRITE + "3000000000000000010").code,
                          get(SERVER.port, WRITE + "3000000000000000011").code],
                         [503, 429])

    def test_log_entries_and_no_token(self):
        SERVER.admin("POST", "reset")
        get(SERVER.port, WRITE + "4150868000005392002")
        get(SERVER.port, WRITE + "4150868000005392002", auth=None)
        get(SERVER.port, WRITE + "4150868000005392002", auth="Zoho-oauthtoken " + BAD_TOKEN)
        get(SERVER.port, "/crm/bulk/v2/writ/" + TOKEN)
        get(SERVER.port, WRITE + "1", method="PUT")
        reqs = SERVER.admin("GET", "requests")
        self.assertEqual([x["auth"] for x in reqs], ["ok", "missing", "bad", "ok", "ok"])
        self.assertEqual([x["scenario"] for x in reqs],
                         ["seed_success", "AUTHENTICATION_FAILURE", "INVALID_TOKEN",
                          "INVALID_URL_PATTERN", "INVALID_REQUEST_METHOD"])
        self.assertEqual(set(reqs[0]), {"time", "kind", "method", "path", "job_id",
                                        "version", "auth", "connection", "scenario",
                                        "request", "bytes_sent", "complete", "error"})
        self.assertEqual({x["kind"] for x in reqs}, {"api"})
        self.assertEqual(reqs[0]["version"], "v2")
        self.assertIsNone(reqs[3]["job_id"])
        serials = [x["request"] for x in reqs]
        self.assertEqual(serials, sorted(set(serials)))
        with open(SERVER.log, encoding="utf-8") as f:
            file_text = f.read()
        lines = [json.loads(line) for line in file_text.splitlines()]
        self.assertEqual({x["event"] for x in lines}, {"start", "end"})
        starts = {x["request"]: x for x in lines if x["event"] == "start"}
        for x in reqs:
            self.assertEqual(dict(starts[x["request"]], event=None),
                             dict(x, event=None, bytes_sent=None, complete=None,
                                  error=None))
        for text in (json.dumps(reqs), file_text):
            for secret in (TOKEN, TOKEN2, BAD_TOKEN, "Zoho-oauthtoken", "Authorization"):
                self.assertNotIn(secret, text)

    def test_unknown_admin(self):
        with Conn(SERVER.port) as c:
            self.assertEqual(c.request("GET", "/__admin/nope").code, 404)


# ---------------------------------------------------------------------------
# OAuth token endpoint
# ---------------------------------------------------------------------------

TOKEN_PATH = "/oauth/v2/token"
CLIENT_ID = "1000.ZCRMTESTCLIENTID0123456789"
CLIENT_SECRET = "zcrm-test-client-secret-9f8e7d"
FORM = "application/x-www-form-urlencoded"
TOKEN_CT = "application/json;charset=UTF-8"
ACCESS_TOKEN_RE = re.compile(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$")
SEED_JOB = WRITE + "4150868000005392002"


def rt_sha(refresh_token):
    """The log's refresh_token_sha: SHA-256 of the UTF-8 refresh token, the
    first 12 lower-case hex digits."""
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()[:12]


def new_rt(prefix):
    """A refresh token with this scenario prefix, unique to the caller."""
    return prefix + os.urandom(8).hex()


def token_fields(refresh_token, **over):
    f = {"grant_type": "refresh_token", "client_id": CLIENT_ID,
         "client_secret": CLIENT_SECRET, "refresh_token": refresh_token}
    f.update(over)
    return {k: v for k, v in f.items() if v is not None}


def token_request(port, fields=None, query=None, method="POST", tls=None,
                  ctype=FORM, conn=None, raw_body=None):
    """fields: form body (dict, urlencoded); query: the same in the query
    string.  Returns the Response with .doc = parsed JSON (or None)."""
    path = TOKEN_PATH + ("?" + urllib.parse.urlencode(query) if query else "")
    body = raw_body if raw_body is not None else (
        urllib.parse.urlencode(fields).encode() if fields else b"")
    headers = [("Content-Type", ctype)] if body else []
    if conn is not None:
        r = conn.request(method, path, headers, body)
    else:
        with Conn(port, tls=tls) as c:
            r = c.request(method, path, headers, body)
    try:
        r.doc = json.loads(r.body)
    except ValueError:
        r.doc = None
    return r


def refresh(refresh_token, port=None, **kw):
    return token_request(port or SERVER.port, token_fields(refresh_token), **kw)


def api_with(token, port=None, tls=None):
    return get(port or SERVER.port, SEED_JOB, auth="Zoho-oauthtoken " + token, tls=tls)


class OAuthTest(unittest.TestCase):
    seed_body = load_seed()["SUCCESS RESPONSE"]["body"].encode()

    def assert_token_json(self, r, doc=None, code=200):
        self.assertEqual(r.code, code)
        self.assertEqual(r.h["content-type"], TOKEN_CT)
        self.assertNotIn("content-encoding", r.h)
        self.assertEqual(int(r.h["content-length"]), len(r.wire))
        if doc is not None:
            self.assertEqual(r.doc, doc)

    def assert_works(self, token, port=None, tls=None):
        r = api_with(token, port, tls)
        self.assertEqual(r.code, 200, r.body[:200])
        self.assertEqual(r.body, self.seed_body)

    def assert_rejected(self, token, port=None):
        r = api_with(token, port)
        self.assertEqual(r.status_line, "HTTP/1.1 401 Unauthorized")
        self.assertEqual(json.loads(r.body)["code"], "INVALID_TOKEN")

    def test_normal_grant(self):
        rt = new_rt("1000.rt.")
        r = refresh(rt)
        self.assert_token_json(r)
        self.assertEqual(list(r.doc), ["access_token", "api_domain", "token_type",
                                       "expires_in"])
        self.assertRegex(r.doc["access_token"], ACCESS_TOKEN_RE)
        self.assertEqual(r.doc["api_domain"], SERVER.url)
        self.assertEqual((r.doc["token_type"], r.doc["expires_in"]), ("Bearer", 3600))
        r2 = refresh(rt)
        self.assertNotEqual(r2.doc["access_token"], r.doc["access_token"])
        for tok in (r.doc["access_token"], r2.doc["access_token"], TOKEN):
            self.assert_works(tok)
        entry = [e for e in SERVER.admin("GET", "requests")
                 if e["kind"] == "api"][-1]
        self.assertEqual((entry["auth"], entry["scenario"]), ("ok", "seed_success"))
        self.assert_rejected(r.doc["access_token"] + "0")
        self.assert_rejected(r.doc["access_token"][:-1])

    def test_query_parameters(self):
        rt = new_rt("1000.rt.")
        r = token_request(SERVER.port, query=token_fields(rt))
        self.assert_token_json(r)
        self.assert_works(r.doc["access_token"])
        # a body field wins over the same query field
        r = token_request(SERVER.port, fields={"refresh_token": rt},
                          query=token_fields("1000.rt.revoked"))
        self.assertEqual(r.doc["expires_in"], 3600)
        e = SERVER.admin("GET", "requests")[-1]
        self.assertEqual((e["path"], e["refresh_token_sha"]), (TOKEN_PATH, rt_sha(rt)))

    def test_body_variants_on_one_connection(self):
        rt = new_rt("1000.rt.")
        body = urllib.parse.urlencode(token_fields(rt)).encode()
        with Conn(SERVER.port) as c:
            # chunked body, Content-Type with a charset parameter
            c.sock.sendall(b"POST /oauth/v2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/x-www-form-urlencoded; "
                           b"charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
                           + b"%x\r\n%s\r\n" % (10, body[:10])
                           + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 10, body[10:]))
            r = c.read_response()
            self.assertEqual(r.code, 200)
            tok = json.loads(r.body)["access_token"]
            # keep-alive: the API on the same connection, with that token
            r = c.request("GET", SEED_JOB, [("Authorization", "Zoho-oauthtoken " + tok)])
            self.assertEqual(r.body, self.seed_body)
            # a JSON body is not form data: its fields are not read
            r = token_request(None, raw_body=json.dumps(token_fields(rt)).encode(),
                              ctype="application/json", conn=c)
            self.assertEqual(r.doc, {"error": "invalid_request"})

    def test_short_token_expires(self):
        t0 = time.monotonic()
        r = refresh(new_rt("1000.rt.short."))
        self.assert_token_json(r)
        self.assertEqual(r.doc["expires_in"], 2)
        tok = r.doc["access_token"]
        self.assert_works(tok)
        time.sleep(max(0.0, t0 + 2.3 - time.monotonic()))
        self.assert_rejected(tok)
        self.assert_works(TOKEN)

    def test_slow_refreshes_overlap(self):
        rt = new_rt("1000.rt.slow.")
        results = [None, None]

        def one(i):
            t = time.monotonic()
            r = refresh(rt)
            results[i] = (r, time.monotonic() - t)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.5)
        # both are counted on arrival, while both are still waiting
        self.assertEqual(SERVER.admin("GET", "token-stats")["refreshes"].get(rt_sha(rt)), 2)
        self.assertTrue(all(t.is_alive() for t in threads))
        for t in threads:
            t.join(10)
        self.assertLess(time.monotonic() - t0, 1.8, "the two delays overlap")
        toks = set()
        for r, took in results:
            self.assertGreaterEqual(took, 0.95)
            self.assert_token_json(r)
            self.assertEqual(r.doc["expires_in"], 3600)
            toks.add(r.doc["access_token"])
        self.assertEqual(len(toks), 2)
        for tok in toks:
            self.assert_works(tok)

    def test_sec_noexp_otherdc(self):
        r = refresh(new_rt("1000.rt.sec."))
        self.assert_token_json(r)
        self.assertEqual(list(r.doc), ["access_token", "expires_in_sec", "api_domain",
                                       "token_type", "expires_in"])
        self.assertEqual((r.doc["expires_in_sec"], r.doc["expires_in"]), (3600, 3600000))
        self.assert_works(r.doc["access_token"])
        r = refresh(new_rt("1000.rt.noexp."))
        self.assert_token_json(r)
        self.assertEqual(list(r.doc), ["access_token", "api_domain", "token_type"])
        self.assert_works(r.doc["access_token"])
        r = refresh(new_rt("1000.rt.otherdc."))
        self.assert_token_json(r)
        self.assertEqual(r.doc["api_domain"], "http://127.0.0.2:1")
        self.assertEqual(r.doc["expires_in"], 3600)
        self.assert_works(r.doc["access_token"])

    def test_error_replies(self):
        denied = {"error_description": "You have made too many requests continuously. "
                  "Please try again after some time.", "error": "Access Denied",
                  "status": "failure"}
        code = {"error": "invalid_code"}
        client = {"error": "invalid_client"}
        request = {"error": "invalid_request"}
        cases = [
            (token_fields("1000.rt.revoked"), code),
            (token_fields("1000.rt.revoked.abc"), code),
            (token_fields("1000.rt.revokedXYZ"), code),
            (token_fields(new_rt("1000.rt.denied.")), denied),
            (token_fields(new_rt("1000.rt.badclient.")), client),
            (token_fields(new_rt("1000.rt."), client_secret="wrong-secret"), client),
            (token_fields(new_rt("1000.rt."), client_id=None), client),
            (token_fields(new_rt("1000.rt."), client_secret=""), client),
            (token_fields("1000.abc.def"), code),
            (token_fields("abc"), code),
            (token_fields("1000.rt"), code),
            (token_fields("1000.RT.x"), code),
            (token_fields(new_rt("1000.rt."), grant_type=None), request),
            (token_fields(new_rt("1000.rt."), grant_type="authorization_code"), request),
            (token_fields(None), request),
            (token_fields(""), request),
        ]
        issued = SERVER.admin("GET", "token-stats")["issued"]
        with Conn(SERVER.port) as c:
            for fields, want in cases:
                with self.subTest(fields=fields):
                    self.assert_token_json(token_request(None, fields, conn=c), want)
        self.assertEqual(SERVER.admin("GET", "token-stats")["issued"], issued)

    def test_html_and_500(self):
        r = refresh(new_rt("1000.rt.html."))
        self.assertEqual((r.code, r.h["content-type"]), (200, "text/html;charset=UTF-8"))
        self.assertIn(b"Access Denied", r.body)
        self.assertEqual(int(r.h["content-length"]), len(r.wire))
        r = refresh(new_rt("1000.rt.500."))
        self.assertEqual(r.status_line, "HTTP/1.1 500 Internal Server Error")
        self.assertTrue(r.h["content-type"].startswith("text/html"))
        self.assertIn(b"<html>", r.body)

    def test_post_only(self):
        rt = new_rt("1000.rt.")
        SERVER.admin("POST", "reset")
        with Conn(SERVER.port) as c:
            for method in ("GET", "PUT", "HEAD"):
                with self.subTest(method=method):
                    r = token_request(None, query=token_fields(rt), method=method, conn=c)
                    self.assertEqual(r.code, 405)
                    self.assertEqual(r.h["allow"], "POST")
                    if method == "HEAD":
                        self.assertEqual(r.body, b"")
                    else:
                        self.assertEqual(r.doc["error"], "invalid_request")
        reqs = SERVER.admin("GET", "requests")
        self.assertEqual([(e["kind"], e["method"], e["scenario"]) for e in reqs],
                         [("token", m, "token_method_not_allowed")
                          for m in ("GET", "PUT", "HEAD")])
        self.assertEqual(SERVER.admin("GET", "token-stats"),
                         {"refreshes": {rt_sha(rt): 3}, "total": 3, "issued": 0,
                          "active": 0})

    def test_revoke_access_tokens(self):
        toks = [refresh(new_rt(p)).doc["access_token"]
                for p in ("1000.rt.", "1000.rt.sec.")]
        for tok in toks:
            self.assert_works(tok)
        active = SERVER.admin("GET", "token-stats")["active"]
        self.assertGreaterEqual(active, 2)
        self.assertEqual(SERVER.admin("POST", "revoke-access-tokens"), {"revoked": active})
        for tok in toks:
            self.assert_rejected(tok)
        self.assertEqual(SERVER.admin("GET", "token-stats")["active"], 0)
        self.assert_works(TOKEN)                 # --token ones are not revoked
        self.assert_works(TOKEN2)
        tok = refresh(new_rt("1000.rt.")).doc["access_token"]   # refresh again
        self.assert_works(tok)
        self.assertEqual(SERVER.admin("POST", "revoke-access-tokens"), {"revoked": 1})
        self.assertEqual(SERVER.admin("POST", "revoke-access-tokens"), {"revoked": 0})

    def test_token_stats_and_reset(self):
        a, b = new_rt("1000.rt."), new_rt("1000.rt.denied.")
        SERVER.admin("POST", "reset")
        self.assertEqual(SERVER.admin("GET", "token-stats"),
                         {"refreshes": {}, "total": 0, "issued": 0, "active": 0})
        tok = refresh(a).doc["access_token"]
        refresh(a)
        token_request(SERVER.port, token_fields(a, client_secret="wrong-secret"))
        refresh(b)
        token_request(SERVER.port, token_fields(None))      # no refresh token
        self.assertEqual(SERVER.admin("GET", "token-stats"),
                         {"refreshes": {rt_sha(a): 3, rt_sha(b): 1}, "total": 5,
                          "issued": 2, "active": 2})
        shas = [e["refresh_token_sha"] for e in SERVER.admin("GET", "requests")]
        self.assertEqual(shas, [rt_sha(a)] * 3 + [rt_sha(b), None])
        self.assertEqual(SERVER.admin("GET", "stats")["requests"], 5)
        self.assert_works(tok)
        SERVER.admin("POST", "reset")            # forgets counts and issued tokens
        self.assertEqual(SERVER.admin("GET", "token-stats"),
                         {"refreshes": {}, "total": 0, "issued": 0, "active": 0})
        self.assert_rejected(tok)

    def test_log_never_holds_secrets(self):
        SERVER.admin("POST", "reset")
        rts = {p: new_rt(p) for p in ("1000.rt.", "1000.rt.short.", "1000.rt.sec.",
                                      "1000.rt.denied.", "1000.rt.500.")}
        unknown = "zz-unknown-refresh-token-" + os.urandom(4).hex()
        toks = []
        for rt in rts.values():
            r = refresh(rt)
            if r.doc and "access_token" in r.doc:
                toks.append(r.doc["access_token"])
        token_request(SERVER.port, query=token_fields(rts["1000.rt."]))
        token_request(SERVER.port, token_fields(unknown))
        token_request(SERVER.port, token_fields(rts["1000.rt."], client_secret="wrong-secret"))
        # fields mixed up: the secrets sit where client_id / grant_type go
        token_request(SERVER.port, token_fields(rts["1000.rt."],
                                                client_id=rts["1000.rt."]))
        token_request(SERVER.port, token_fields(rts["1000.rt."], client_id=CLIENT_SECRET,
                                                grant_type=CLIENT_SECRET))
        token_request(SERVER.port, query=token_fields(rts["1000.rt."]), method="GET")
        self.assertEqual(len(toks), 3)
        for tok in toks:
            self.assert_works(tok)
            get(SERVER.port, "/crm/bulk/v2/write/" + tok)          # token in a path
        get(SERVER.port, "/crm/bulk/v2/writ/" + rts["1000.rt."])
        reqs = SERVER.admin("GET", "requests")
        token_entries = [e for e in reqs if e["kind"] == "token"]
        self.assertEqual(len(token_entries), 11)
        self.assertEqual(set(token_entries[0]), {
            "time", "kind", "method", "path", "job_id", "version", "auth",
            "connection", "scenario", "grant_type", "client_id",
            "refresh_token_prefix", "refresh_token_sha", "request", "bytes_sent",
            "complete", "error"})
        self.assertEqual([(e["scenario"], e["refresh_token_prefix"], e["client_id"])
                          for e in token_entries[:8]],
                         [("token_normal", "1000.rt.", CLIENT_ID),
                          ("token_short", "1000.rt.short.", CLIENT_ID),
                          ("token_sec", "1000.rt.sec.", CLIENT_ID),
                          ("token_denied", "1000.rt.denied.", CLIENT_ID),
                          ("token_500", "1000.rt.500.", CLIENT_ID),
                          ("token_normal", "1000.rt.", CLIENT_ID),
                          ("token_invalid_code", None, CLIENT_ID),
                          ("token_wrong_secret", "1000.rt.", CLIENT_ID)])
        self.assertEqual(token_entries[6]["refresh_token_sha"], rt_sha(unknown))
        self.assertEqual(token_entries[8]["client_id"], "<redacted>")
        self.assertEqual((token_entries[9]["client_id"], token_entries[9]["grant_type"]),
                         ("<redacted>", "<redacted>"))
        self.assertTrue(all(e["path"] == TOKEN_PATH and e["complete"] is True
                            for e in token_entries))
        self.assertEqual({e["kind"] for e in reqs if e not in token_entries}, {"api"})
        with open(SERVER.log, encoding="utf-8") as f:
            file_text = f.read()
        lines = [json.loads(x) for x in file_text.splitlines()]
        mine = {e["request"] for e in token_entries}
        self.assertEqual(sorted((x["event"], x["kind"]) for x in lines
                                if x["request"] in mine),
                         sorted([("start", "token"), ("end", "token")] * 11))
        secrets = list(rts.values()) + toks + [unknown, CLIENT_SECRET, "wrong-secret"]
        for where, text in (("requests", json.dumps(reqs)), ("--log", file_text)):
            for secret in secrets:
                self.assertNotIn(secret, text, where)
            self.assertNotIn("1000.rt.", text.replace('"1000.rt.', ""), where)

    def test_api_domain_options(self):
        m = MockProcess(extra_args=["--api-domain", "https://www.zohoapis.eu",
                                    "--other-api-domain", "http://127.0.0.3:9"])
        try:
            r = refresh(new_rt("1000.rt."), port=m.port)
            self.assertEqual(r.doc["api_domain"], "https://www.zohoapis.eu")
            self.assert_works(r.doc["access_token"], port=m.port)
            r = refresh(new_rt("1000.rt.otherdc."), port=m.port)
            self.assertEqual(r.doc["api_domain"], "http://127.0.0.3:9")
            # tokens are per server process
            self.assert_rejected(r.doc["access_token"])
        finally:
            m.stop()
            m.cleanup()


class ProcessTest(unittest.TestCase):

    def test_sigterm_while_stalled(self):
        m = MockProcess()
        conns = []
        try:
            for job in ("3000000000000000001", "3000000000000000002",
                        "3000000000000000008"):
                c = Conn(m.port, timeout=5)
                c.send("GET", WRITE + job, [("Authorization", AUTH)])
                conns.append(c)
            idle = Conn(m.port, timeout=5)      # an idle keep-alive connection
            idle.request("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            conns.append(idle)
            deadline = time.monotonic() + 5
            while len(m.admin("GET", "requests")) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            t = time.monotonic()
            m.proc.send_signal(signal.SIGTERM)
            try:
                rc = m.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                self.fail("zoho_mock still running 2 s after SIGTERM")
            self.assertLess(time.monotonic() - t, 2.0)
            self.assertEqual(rc, 0)
            self.assertFalse(os.path.exists(m.pidfile))
            self.assertFalse(os.path.exists(m.ready))
            # the stalled client sees the connection end
            self.assertEqual(conns[0].sock.recv(1), b"")
        finally:
            for c in conns:
                c.close()
            m.stop()
            m.cleanup()

    def test_pidfile_and_ready_file(self):
        with open(SERVER.pidfile) as f:
            self.assertEqual(int(f.read()), SERVER.proc.pid)
        with open(SERVER.ready) as f:
            info = json.load(f)
        self.assertEqual((info["pid"], info["port"]), (SERVER.proc.pid, SERVER.port))

    def test_refuses_non_loopback(self):
        p = subprocess.run([PY, MOCK, "--host", "0.0.0.0", "--port", "0"],
                           capture_output=True, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"loopback", p.stderr)


# Every field zcrm_bulk's parser reads, in the order of the wrong-type family
# (1100000000000000001 ...), with the JSON type the mock must put there.
WRONG_TYPE_PATHS = [
    ("id", "object"), ("status", "number"), ("operation", "array"),
    ("ignore_empty", "string"), ("character_encoding", "boolean"),
    ("created_time", "number"), ("created_by", "string"),
    ("created_by.id", "boolean"), ("created_by.name", "number"),
    ("callback", "array"), ("callback.url", "number"),
    ("callback.method", "object"), ("result", "string"),
    ("result.download_url", "number"), ("resource", "object"),
    ("resource[0]", "string"), ("resource[0].type", "number"),
    ("resource[0].module", "number"), ("resource[0].module.api_name", "number"),
    ("resource[0].module.id", "array"), ("resource[0].status", "boolean"),
    ("resource[0].code", "number"), ("resource[0].file", "array"),
    ("resource[0].file.name", "number"), ("resource[0].file.status", "object"),
    ("resource[0].file.added_count", "string"),
    ("resource[0].file.updated_count", "boolean"),
    ("resource[0].file.skipped_count", "array"),
    ("resource[0].file.total_count", "object"),
    ("resource[0].field_mappings", "object"),
    ("resource[0].field_mappings[1]", "number"),
    ("resource[0].field_mappings[1].api_name", "number"),
    ("resource[0].field_mappings[1].index", "string"),
    ("resource[0].field_mappings[1].format", "number"),
    ("resource[0].field_mappings[1].find_by", "boolean"),
    ("resource[0].field_mappings[1].module", "number"),
    ("resource[0].field_mappings[1].parent_column_index", "string"),
    ("resource[0].field_mappings[1].index", 2147483648),     # out of int32 range
    ("resource[0].file.total_count", 1e300),                 # out of range
]


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def json_diff(a, b, path=""):
    """Paths (notation a.b[1].c) at which JSON values a and b differ; a
    container of another type, or a key present on one side only, is one
    difference at that path."""
    if json_type(a) != json_type(b):
        return [path]
    if isinstance(a, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            sub = "%s.%s" % (path, k) if path else k
            if k not in a or k not in b:
                out.append(sub)
            else:
                out += json_diff(a[k], b[k], sub)
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [path]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else [path]


def expected_wrong_type_base():
    """The base document, derived here independently of the mock."""
    with open(os.path.join(JOBS, "4150868000005350003.json"), encoding="utf-8") as f:
        doc = json.load(f)
    doc["id"] = "1100000000000000000"
    doc["resource"][0]["field_mappings"].insert(1, {
        "api_name": "Vendor_Name", "index": 3, "format": "yyyy-MM-dd",
        "find_by": "id", "module": "Vendors", "default_value": {"value": "x"},
        "parent_column_index": 0})
    return doc


def value_at(doc, path):
    for key, idx in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", path):
        doc = doc[key] if key else doc[int(idx)]
    return doc


class WrongTypesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        p = subprocess.run([PY, MOCK, "--list-wrong-types"], capture_output=True,
                           check=True)
        cls.listing = [tuple(line.split("\t"))
                       for line in p.stdout.decode("utf-8").splitlines()]

    def test_listing_covers_every_field(self):
        self.assertEqual(len(self.listing), len(WRONG_TYPE_PATHS))
        for n, ((job, path), (want_path, _)) in enumerate(
                zip(self.listing, WRONG_TYPE_PATHS), 1):
            self.assertEqual(job, "11%017d" % n)
            self.assertEqual(len(job), 19)
            self.assertEqual(path, want_path)

    def test_base_document(self):
        base = json.loads(get(SERVER.port, WRITE + "1100000000000000000").body)
        self.assertEqual(base, expected_wrong_type_base())
        # every field the parser reads is there, not null
        for path, _ in WRONG_TYPE_PATHS:
            self.assertIsNotNone(value_at(base, path), path)
        self.assertEqual(base["resource"][0]["field_mappings"][1]["parent_column_index"], 0)

    def test_each_job_differs_at_its_path_only(self):
        base = expected_wrong_type_base()
        with Conn(SERVER.port) as c:
            for (job, path), (_, want) in zip(self.listing, WRONG_TYPE_PATHS):
                with self.subTest(job=job, path=path):
                    r = c.request("GET", WRITE + job, [("Authorization", AUTH)])
                    self.assertEqual(r.code, 200)
                    self.assertEqual(r.h["content-encoding"], "gzip")
                    doc = json.loads(r.body)
                    self.assertEqual(json_diff(base, doc), [path])
                    got = value_at(doc, path)
                    if isinstance(want, str):
                        self.assertEqual(json_type(got), want)
                        self.assertNotEqual(json_type(value_at(base, path)), want)
                    else:                       # right type, out of range
                        self.assertEqual(json_type(got), "number")
                        self.assertEqual(got, want)

    def test_table_rows(self):
        p = subprocess.run([PY, MOCK, "--print-table"], capture_output=True, check=True)
        rows = {}
        for line in p.stdout.decode("utf-8").splitlines()[2:]:
            cells = [x.strip() for x in line.strip("|").split(" | ")]
            rows[cells[0]] = cells
        self.assertEqual(rows["1100000000000000000"][3], "- (success)")
        for job, path in self.listing:
            with self.subTest(job=job):
                _, code, what, sqlstate = rows[job]
                self.assertEqual((code, sqlstate), ("200", "22000"))
                self.assertRegex(what, r"^(wrong type|out of range): %s = \S"
                                 % path.replace("[", r"\[").replace("]", r"\]").replace(".", r"\."))

    def test_top_level_scalars(self):
        for job, body in (("1000000000000000022", b"42"), ("1000000000000000023", b"null"),
                          ("1000000000000000024", b"true")):
            with self.subTest(job=job):
                r = get(SERVER.port, WRITE + job)
                self.assertEqual((r.code, r.body), (200, body))


# ---------------------------------------------------------------------------
# Generated families 51 (delayed seed success) and 52 (N field mappings),
# --delay-ms, in_flight / max_in_flight
# ---------------------------------------------------------------------------

SEED_ID = b'"id": "4150868000005392002"'


def seed_success_with_id(job_id):
    """The seed SUCCESS body with only its top-level id changed."""
    body = load_seed()["SUCCESS RESPONSE"]["body"].encode("utf-8")
    assert body.count(SEED_ID) == 1
    return body.replace(SEED_ID, b'"id": "%s"' % job_id.encode())


def many_mappings_job(n, middle=0):
    return "52%011d%06d" % (middle, n)


def expected_many_mappings(job_id, n):
    """The 52-family document, derived here independently of the mock."""
    doc = json.loads(load_seed()["SUCCESS RESPONSE"]["body"])
    doc["id"] = job_id
    resource = doc["resource"][0]
    mappings = []
    for i in range(n):
        m = {"api_name": "Field_%d" % i, "index": i}
        if i % 10 == 0:
            m["default_value"] = {"value": "v%d" % i}
        if i % 7 == 0:
            m["format"] = "MM/dd/yyyy"
        if i % 13 == 0:
            m["find_by"] = "id"
            m["module"] = "Accounts"
        mappings.append(m)
    resource["field_mappings"] = mappings
    doc["resource"] = [resource]
    return doc


class FamiliesTest(unittest.TestCase):
    seed = load_seed()

    def assert_like_seed_success(self, r, body):
        item = self.seed["SUCCESS RESPONSE"]
        self.assertEqual(r.status_line, "HTTP/1.1 %d %s" % (item["code"], item["status"]))
        self.assertEqual(r.headers, expected_seed_headers(item))
        self.assertGreater(len(r.chunks), 1)
        self.assertTrue(all(0 < n <= 64 for n in r.chunks), r.chunks)
        self.assertEqual(r.wire[:2], b"\x1f\x8b")
        self.assertEqual(r.body, body)

    def test_51_seed_success_with_the_requested_id(self):
        seed_doc = json.loads(self.seed["SUCCESS RESPONSE"]["body"])
        with Conn(SERVER.port) as c:         # keep-alive: framing is right
            for job in ("5100000000000000000", "5198765432109800000",
                        "5100000000000000001"):
                with self.subTest(job=job):
                    r = c.request("GET", WRITE + job, [("Authorization", AUTH)])
                    self.assert_like_seed_success(r, seed_success_with_id(job))
                    doc = json.loads(r.body)
                    self.assertEqual(json_diff(seed_doc, doc), ["id"])
                    self.assertEqual(doc["id"], job)
        e = SERVER.finished_entry("5100000000000000001")
        self.assertEqual((e["scenario"], e["complete"]), ("seed_success_delayed", True))

    def test_51_waits_d_ms(self):
        for job, d in (("5100000000000000250", 0.25), ("5111111111111100120", 0.12)):
            with self.subTest(job=job):
                r, took = timed_get(SERVER.port, WRITE + job)
                self.assertGreaterEqual(took, d)
                self.assertLess(took, d + 1.0)
                self.assert_like_seed_success(r, seed_success_with_id(job))

    def test_51_token_required(self):
        job = WRITE + "5100000000000000000"
        r = get(SERVER.port, job, auth=None)
        self.assertEqual(json.loads(r.body)["code"], "AUTHENTICATION_FAILURE")
        r = get(SERVER.port, job, auth="Zoho-oauthtoken " + BAD_TOKEN)
        self.assertEqual(json.loads(r.body)["code"], "INVALID_TOKEN")
        tok = refresh(new_rt("1000.rt.")).doc["access_token"]
        for auth in ("Zoho-oauthtoken " + TOKEN2, "Zoho-oauthtoken " + tok):
            self.assertEqual(get(SERVER.port, job, auth=auth).body,
                             seed_success_with_id("5100000000000000000"))

    def generated_json(self, c, job):
        """GET job on connection c: a generated JSON job's framing (200,
        application/json, gzip, 64-byte chunks); returns the document."""
        r = c.request("GET", WRITE + job, [("Authorization", AUTH)])
        self.assertEqual(r.status_line, "HTTP/1.1 200 OK")
        self.assertEqual((r.h["content-type"], r.h["transfer-encoding"],
                          r.h["content-encoding"]),
                         ("application/json", "chunked", "gzip"))
        self.assertTrue(all(0 < k <= 64 for k in r.chunks))
        return json.loads(r.body)

    def test_52_mapping_counts(self):
        with Conn(SERVER.port) as c:
            for n, middle in ((0, 0), (1, 0), (100, 12345678901), (10000, 0)):
                job = many_mappings_job(n, middle)
                with self.subTest(job=job):
                    doc = self.generated_json(c, job)
                    self.assertEqual(len(doc["resource"]), 1)
                    self.assertEqual(len(doc["resource"][0]["field_mappings"]), n)
                    self.assertEqual(doc, expected_many_mappings(job, n))
        e = SERVER.finished_entry(many_mappings_job(10000))
        self.assertEqual((e["scenario"], e["complete"]), ("many_mappings", True))

    def test_52_optional_keys(self):
        doc = json.loads(get(SERVER.port, WRITE + many_mappings_job(100)).body)
        maps = doc["resource"][0]["field_mappings"]
        self.assertEqual([m["index"] for m in maps], list(range(100)))
        self.assertEqual([m["api_name"] for m in maps[:3]],
                         ["Field_0", "Field_1", "Field_2"])
        self.assertEqual([i for i, m in enumerate(maps) if "default_value" in m],
                         list(range(0, 100, 10)))
        self.assertEqual([i for i, m in enumerate(maps) if "format" in m],
                         list(range(0, 100, 7)))
        self.assertEqual([i for i, m in enumerate(maps) if "find_by" in m],
                         list(range(0, 100, 13)))
        self.assertEqual(maps[0], {"api_name": "Field_0", "index": 0,
                                   "default_value": {"value": "v0"},
                                   "format": "MM/dd/yyyy", "find_by": "id",
                                   "module": "Accounts"})
        self.assertEqual(maps[1], {"api_name": "Field_1", "index": 1})
        self.assertEqual(maps[91], {"api_name": "Field_91", "index": 91,
                                    "format": "MM/dd/yyyy", "find_by": "id",
                                    "module": "Accounts"})
        # the rest of the resource and of the job: the seed's
        seed_doc = json.loads(self.seed["SUCCESS RESPONSE"]["body"])
        self.assertEqual(json_diff(seed_doc, doc),
                         ["resource[0].field_mappings", "id"])

    def test_55_resource_counts(self):
        with open(os.path.join(HERE, "fixtures", "jobs", "4150868000005350003.json"),
                  encoding="utf-8") as f:
            sample = json.load(f)
        with Conn(SERVER.port) as c:
            for job, n in (("5500000000000000000", 0), ("5512345678901234001", 1),
                           ("5500000000000000080", 80)):
                with self.subTest(job=job):
                    doc = self.generated_json(c, job)
                    expected = []
                    for i in range(n):
                        res = json.loads(json.dumps(sample["resource"][0]))
                        res["module"] = {"id": str(4150868000000002175 + i),
                                         "api_name": "Module_%d" % i}
                        res["file"].update(name="File_%d.csv" % i, added_count=i + 1,
                                           updated_count=0, skipped_count=0,
                                           total_count=i + 1)
                        expected.append(res)
                    self.assertEqual(doc, dict(sample, id=job, resource=expected))
        e = SERVER.finished_entry("5500000000000000080")
        self.assertEqual((e["scenario"], e["complete"]), ("many_resources", True))

    def test_52_cached_repeat_is_identical(self):
        job = WRITE + many_mappings_job(10000, 777)
        a, b = get(SERVER.port, job), get(SERVER.port, job)
        self.assertEqual((a.headers[2:], a.wire), (b.headers[2:], b.wire))

    def test_52_out_of_range_is_unknown(self):
        unknown = get(SERVER.port, WRITE + "5600000000000000000")
        self.assertEqual(json.loads(unknown.body)["code"], "RESOURCE_NOT_FOUND")
        SERVER.admin("POST", "reset")
        for job in ("5200000000000200001", "5299999999999999999",
                    "520000000000000010", "52000000000000000100"):
            with self.subTest(job=job):
                r = get(SERVER.port, WRITE + job)
                self.assertEqual((r.status_line, r.headers, r.wire),
                                 (unknown.status_line, unknown.headers, unknown.wire))
        for job in ("510000000000000010", "51000000000000000100"):   # 18, 20 digits
            self.assertEqual(get(SERVER.port, WRITE + job).wire, unknown.wire)
        self.assertEqual({e["scenario"] for e in SERVER.admin("GET", "requests")},
                         {"RESOURCE_NOT_FOUND"})

    def test_table_rows(self):
        p = subprocess.run([PY, MOCK, "--print-table"], capture_output=True, check=True)
        rows = {}
        for line in p.stdout.decode("utf-8").splitlines()[2:]:
            cells = [x.strip() for x in line.strip("|").split(" | ")]
            rows[cells[0]] = cells
        for label in ("51xxxxxxxxxxxxDDDDD", "52xxxxxxxxxxxNNNNNN"):
            self.assertEqual(len(label), 19)
            self.assertEqual((rows[label][1], rows[label][3]), ("200", "- (success)"))
        self.assertIn("5100000000000000200 = 200 ms", rows["51xxxxxxxxxxxxDDDDD"][2])
        self.assertIn("200000", rows["52xxxxxxxxxxxNNNNNN"][2])


    def test_53_54_tiny_elements(self):
        for job, kib in (("5300000000000000001", 1), ("5312345678901200100", 100),
                         ("5400000000000000001", 1), ("5400000000000000100", 100)):
            with self.subTest(job=job):
                r = get(SERVER.port, WRITE + job)
                self.assertEqual((r.code, r.h["content-encoding"], r.h["transfer-encoding"]),
                                 (200, "gzip", "chunked"))
                self.assertEqual(len(r.body), kib * 1024)
                doc = json.loads(r.body)
                self.assertEqual((doc["id"], doc["status"]), (job, "COMPLETED"))
                elems = doc["resource"] if job.startswith("53") else \
                    doc["resource"][0]["field_mappings"]
                if job.startswith("54"):
                    self.assertEqual(len(doc["resource"]), 1)
                # every element is {} and as many as fit: 3 bytes each
                self.assertEqual(set(map(json.dumps, elems)), {"{}"})
                self.assertGreater(len(elems), kib * 1024 // 3 - 40)
        self.assertEqual(SERVER.finished_entry("5400000000000000100")["scenario"], "tiny_mappings")
        for job in ("5300000000000065537", "540000000000000001"):
            self.assertEqual(json.loads(get(SERVER.port, WRITE + job).body)["code"],
                             "RESOURCE_NOT_FOUND")

    def test_table_rows_53_54(self):
        p = subprocess.run([PY, MOCK, "--print-table"], capture_output=True, check=True)
        rows = [line for line in p.stdout.decode("utf-8").splitlines()
                if line.startswith(("| 53x", "| 54x"))]
        self.assertEqual(len(rows), 2)
        self.assertIn("65536", rows[0])


# The forms secret_forms() gives a token with / + = in it, written out.
SLASHED = "1000.ab/cd+ef=="
SLASHED_FORMS = [
    "1000.ab/cd+ef==",
    "1000.ab\\/cd+ef==",
    "\\u003100\\u0030.a\\u0062/c\\u0064+e\\u0066==",
    "1000.ab%2fcd%2bef%3d%3d",
    "1000.ab%2Fcd%2Bef%3D%3D",
    "%31%30%30%30%2E%61%62%2F%63%64%2B%65%66%3D%3D",
    "1000.ab\r\n    /cd+ef=\r\n    =",
    "1000.\n\tab/cd\n\t+ef==",
]


class EchoFormsTest(unittest.TestCase):
    """Jobs 2000000000000000497/498 and the 1000.rt.echo. refresh token echo
    a secret in every form of secret_forms()."""

    def test_forms_of_a_slashed_token(self):
        m = MockProcess(tokens=(SLASHED,))
        try:
            r = get(m.port, WRITE + "2000000000000000497", auth="Zoho-oauthtoken " + SLASHED)
            doc = json.loads(r.body)
            self.assertEqual((r.code, doc["code"]), (400, "INVALID_DATA"))
            self.assertEqual(doc["message"], "token " + " ; ".join(SLASHED_FORMS * 2))
            self.assertEqual(doc["details"], {"forms": SLASHED_FORMS, "again": SLASHED_FORMS})
            r = get(m.port, WRITE + "2000000000000000498", auth="Zoho-oauthtoken " + SLASHED)
            self.assertEqual((r.code, r.h["content-type"]), (500, "text/plain"))
            self.assertEqual(r.body.decode(), "upstream failed for " + "&".join(
                "t%d=%s" % (i, f) for i, f in enumerate(SLASHED_FORMS * 2)))
        finally:
            m.stop()
            m.cleanup()

    def test_forms_of_the_test_token(self):
        doc = json.loads(get(SERVER.port, WRITE + "2000000000000000497").body)
        forms = doc["details"]["forms"]
        self.assertEqual(len(forms), 8)
        self.assertEqual(forms[:2], [TOKEN, TOKEN])
        self.assertEqual(forms[5], "".join("%%%02X" % b for b in TOKEN.encode()))
        self.assertEqual(forms[6].replace("\r\n    ", ""), TOKEN)

    def test_token_echo(self):
        rt = new_rt("1000.rt.echo.")
        r = refresh(rt)
        self.assertEqual(r.code, 200)
        self.assertEqual(r.doc["error"], "invalid_scope")
        desc = r.doc["error_description"]
        self.assertTrue(desc.startswith("refresh token " + rt * 40 + "; again " + rt + " "))
        self.assertIn(" %%%02X" % ord("1"), desc)
        self.assertIn("client secret " + CLIENT_SECRET + " ", desc)


class DelayTest(unittest.TestCase):
    """--delay-ms on a server of its own."""
    DELAY = 0.25

    @classmethod
    def setUpClass(cls):
        cls.m = MockProcess(extra_args=["--delay-ms", str(int(cls.DELAY * 1000))])

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.cleanup()

    def test_every_job_details_response_is_delayed(self):
        # (path, auth, method): ordinary, fixture, unknown id, error, no
        # token, bad token, wrong method -- all on the write path
        cases = [(WRITE + "4150868000005392002", AUTH, "GET"),
                 (WRITE + "4150868000005350003", AUTH, "GET"),
                 (WRITE + "415086800000539200", AUTH, "GET"),
                 (WRITE + "2000000000000000503", AUTH, "GET"),
                 (WRITE + "4150868000005392002", None, "GET"),
                 ("/crm/bulk/v7/write/4150868000005392002",
                  "Zoho-oauthtoken " + BAD_TOKEN, "GET"),
                 (WRITE + "4150868000005392002", AUTH, "PUT")]
        got = in_parallel(lambda path, auth, method: timed_get(
            self.m.port, path, auth=auth, method=method), cases)
        for (path, auth, method), (r, took) in zip(cases, got):
            with self.subTest(path=path, auth=auth, method=method):
                self.assertGreaterEqual(took, self.DELAY)
                self.assertLess(took, self.DELAY + 1.0)
                ref = get(SERVER.port, path, auth=auth, method=method)
                self.assertEqual((r.status_line, [k for k, _ in r.headers], r.body),
                                 (ref.status_line, [k for k, _ in ref.headers], ref.body))
        # the seed replay is the same bytes, delayed or not
        self.assertEqual(got[0][0].wire, get(SERVER.port, cases[0][0]).wire)

    def test_not_delayed(self):
        for what, fn in (
                ("admin", lambda: self.m.admin("GET", "stats")),
                ("token", lambda: refresh(new_rt("1000.rt."), port=self.m.port)),
                ("other path", lambda: get(self.m.port, "/crm/bulk/v2/writ/1"))):
            with self.subTest(what=what):
                t = time.monotonic()
                fn()
                self.assertLess(time.monotonic() - t, self.DELAY - 0.05)

    def test_added_to_family_51(self):
        job = "5100000000000000100"
        r, took = timed_get(self.m.port, WRITE + job)
        self.assertGreaterEqual(took, self.DELAY + 0.1)
        self.assertEqual(r.body, seed_success_with_id(job))

    def test_in_flight_while_held(self):
        self.m.admin("POST", "reset")
        with Conn(self.m.port) as c:
            c.send("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            # logged (routed) at once, in flight, no byte sent yet
            entry = wait_until(lambda: self.m.admin("GET", "requests"),
                               what="the log entry")[0]
            self.assertIsNone(entry["complete"])
            stats = self.m.admin("GET", "stats")
            self.assertEqual((stats["in_flight"], stats["max_in_flight"]), (1, 1))
            self.assertEqual(c.read_response().code, 200)
        wait_until(lambda: self.m.admin("GET", "stats")["in_flight"] == 0,
                   what="in_flight 0")
        self.assertEqual(self.m.admin("GET", "stats")["max_in_flight"], 1)

    def test_negative_refused(self):
        p = subprocess.run([PY, MOCK, "--port", "0", "--delay-ms", "-1"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--delay-ms", p.stderr)


class InFlightTest(unittest.TestCase):
    """in_flight / max_in_flight of /__admin/stats, on a server of its own
    (nothing else in flight there)."""

    @classmethod
    def setUpClass(cls):
        cls.m = MockProcess()

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.cleanup()

    def stats(self):
        s = self.m.admin("GET", "stats")
        return s["in_flight"], s["max_in_flight"]

    def wait_idle(self):
        wait_until(lambda: self.stats()[0] == 0, what="in_flight 0")

    def test_keys_and_reset(self):
        self.m.admin("POST", "reset")
        s = self.m.admin("GET", "stats")
        self.assertEqual(set(s), {"connections", "requests", "tls_handshake_failures",
                                  "in_flight", "max_in_flight"})
        self.assertEqual(self.stats(), (0, 0))
        get(self.m.port, "/__admin/requests", auth=None)   # admin: not counted
        self.assertEqual(self.stats(), (0, 0))
        refresh(new_rt("1000.rt."), port=self.m.port)       # token: counted
        self.assertEqual(self.stats(), (0, 1))
        get(self.m.port, "/crm/bulk/v2/writ/1")             # any API request
        self.assertEqual(self.stats(), (0, 1))
        self.m.admin("POST", "reset")
        self.assertEqual(self.stats(), (0, 0))

    def test_sequential_connections_never_overlap(self):
        # A client that reads a whole response and opens a new connection at
        # once must not be seen overlapping the response it already has.
        self.m.admin("POST", "reset")
        for i in range(60):
            job = ("4150868000005392002", "5100000000000000000",
                   many_mappings_job(i % 3), "2000000000000000503")[i % 4]
            get(self.m.port, WRITE + job)
            refresh(new_rt("1000.rt."), port=self.m.port)
        self.wait_idle()
        self.assertEqual(self.stats(), (0, 1))

    def test_six_parallel_slow_requests(self):
        job = "5100000000000000500"
        self.wait_idle()
        self.m.admin("POST", "reset")
        self.assertEqual(self.stats(), (0, 0))
        result = []
        t = threading.Thread(target=lambda: result.extend(in_parallel(
            lambda: timed_get(self.m.port, WRITE + job), [()] * 6)))
        t.start()
        try:
            wait_until(lambda: self.stats()[0] == 6, timeout=0.45,
                       what="6 requests in flight")
            self.assertEqual(self.stats(), (6, 6))
            self.m.admin("POST", "reset")           # max restarts from in_flight
            self.assertEqual(self.stats(), (6, 6))
        finally:
            t.join(10)
        self.assertEqual(len(result), 6)
        for r, took in result:
            self.assertGreaterEqual(took, 0.5)
            self.assertEqual(r.body, seed_success_with_id(job))
        self.wait_idle()
        self.assertEqual(self.stats(), (0, 6))
        self.m.admin("POST", "reset")
        self.assertEqual(self.stats(), (0, 0))

    def test_client_gone_while_waiting(self):
        job = "5100000000000005000"               # 5 s
        self.m.admin("POST", "reset")
        with Conn(self.m.port) as c:
            c.send("GET", WRITE + job, [("Authorization", AUTH)])
            wait_until(lambda: self.stats() == (1, 1), what="1 in flight")
        t = time.monotonic()
        self.wait_idle()                          # the wait ends with the client
        self.assertLess(time.monotonic() - t, 2.0)
        e = self.m.finished_entry(job)
        self.assertEqual((e["bytes_sent"], e["complete"], e["error"]), (0, False, None))
        self.assertEqual(self.stats(), (0, 1))

    def test_client_gone_mid_body(self):
        job = "3000000000000000005"               # 24 MiB
        self.m.admin("POST", "reset")
        with Conn(self.m.port) as c:
            c.send("GET", WRITE + job, [("Authorization", AUTH)])
            c.read_head()
            c.read_exact(64 * 1024)
            self.assertEqual(self.stats(), (1, 1))
        self.wait_idle()
        e = self.m.finished_entry(job)
        self.assertIs(e["complete"], False, e)
        self.assertIn(e["error"], ("BrokenPipeError", "ConnectionResetError"), e)
        self.assertEqual(self.stats(), (0, 1))


class TLSTest(unittest.TestCase):
    """--tls-cert/--tls-key with the certificates of make_certs.sh."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="zoho_mock_certs.")
        cls.certs = os.path.join(cls.dir, "certs")
        cls.servers = []
        if shutil.which("openssl") is None:
            raise AssertionError("the openssl command is required by make_certs.sh")
        p = subprocess.run(["sh", MAKE_CERTS, cls.certs], capture_output=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("make_certs.sh failed: %s" % p.stderr.decode())
        cls.ca = os.path.join(cls.certs, "ca.pem")
        cls.trusting = ssl.create_default_context(cafile=cls.ca)

        def start(name):
            m = MockProcess(extra_args=[
                "--tls-cert", os.path.join(cls.certs, name + ".pem"),
                "--tls-key", os.path.join(cls.certs, name + ".key")],
                tls=cls.trusting)
            cls.servers.append(m)
            return m
        try:
            cls.good = start("server")
            cls.wrong = start("wrong-host")
            # admin requests to the wrong-host server check the chain only
            cls.wrong.tls = ssl.create_default_context(cafile=cls.ca)
            cls.wrong.tls.check_hostname = False
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for m in cls.servers:
            m.stop()
            m.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def openssl(self, *args):
        return subprocess.run(["openssl"] + list(args), capture_output=True,
                              text=True, cwd=self.certs)

    def test_certificate_files(self):
        names = ["ca", "server", "wrong-host", "self-signed"]
        self.assertEqual(sorted(os.listdir(self.certs)),
                         sorted(n + ext for n in names for ext in (".key", ".pem")))
        for f in os.listdir(self.certs):
            mode = stat.S_IMODE(os.stat(os.path.join(self.certs, f)).st_mode)
            self.assertEqual(mode, 0o644, f)
        self.assertIn("zcrm_bulk test CA",
                      self.openssl("x509", "-in", "ca.pem", "-noout", "-subject").stdout)
        for name, san in (("server", "DNS:localhost, IP Address:127.0.0.1"),
                          ("wrong-host", "DNS:other.example"),
                          ("self-signed", "DNS:localhost, IP Address:127.0.0.1")):
            p = self.openssl("x509", "-in", name + ".pem", "-noout", "-ext", "subjectAltName")
            self.assertEqual(p.stdout.split("\n")[1].strip(), san, name)
        for name in names:
            p = self.openssl("x509", "-in", name + ".pem", "-noout", "-startdate", "-enddate")
            dates = dict(line.split("=", 1) for line in p.stdout.split("\n") if line)
            days = (ssl.cert_time_to_seconds(dates["notAfter"])
                    - ssl.cert_time_to_seconds(dates["notBefore"])) / 86400
            self.assertEqual(days, 2, name)
        self.assertEqual(self.openssl("verify", "-CAfile", "ca.pem", "server.pem",
                                      "wrong-host.pem").returncode, 0)
        self.assertNotEqual(self.openssl("verify", "-CAfile", "ca.pem",
                                         "self-signed.pem").returncode, 0)

    def test_ready_file_says_https(self):
        self.assertEqual(self.good.url, "https://127.0.0.1:%d" % self.good.port)

    def test_trusting_ca_succeeds(self):
        seed_body = load_seed()["SUCCESS RESPONSE"]["body"].encode()
        for hostname in ("127.0.0.1", "localhost"):
            with self.subTest(server_hostname=hostname):
                with Conn(self.good.port, tls=self.trusting, server_hostname=hostname) as c:
                    for _ in range(2):          # keep-alive over TLS
                        r = c.request("GET", WRITE + "4150868000005392002",
                                      [("Authorization", AUTH)])
                        self.assertEqual(r.status_line, "HTTP/1.1 200 OK")
                        self.assertEqual(r.body, seed_body)
        reqs = self.good.admin("GET", "requests")
        self.assertEqual(len({x["connection"] for x in reqs
                              if x["job_id"] == "4150868000005392002"}), 2)

    def assert_rejected_then_still_serving(self, server, before):
        deadline = time.monotonic() + 5
        while server.admin("GET", "stats")["tls_handshake_failures"] <= before:
            self.assertLess(time.monotonic(), deadline, "failure not counted")
            time.sleep(0.05)
        self.assertEqual(get(server.port, WRITE + "4150868000005350003",
                             tls=server.tls).code, 200)
        self.assertIsNone(server.proc.poll())
        err = server.stderr_text()
        self.assertIn("TLS handshake failed", err)
        self.assertNotIn("Traceback", err)

    def test_system_store_rejects(self):
        before = self.good.admin("GET", "stats")["tls_handshake_failures"]
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:
            Conn(self.good.port, tls=ssl.create_default_context())
        self.assertIn("unable to get local issuer certificate", str(cm.exception))
        self.assert_rejected_then_still_serving(self.good, before)

    def test_wrong_host_rejected(self):
        before = self.wrong.admin("GET", "stats")["tls_handshake_failures"]
        for hostname, why in (("127.0.0.1", "IP address mismatch"),
                              ("localhost", "Hostname mismatch")):
            with self.subTest(server_hostname=hostname):
                with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                    Conn(self.wrong.port, tls=self.trusting, server_hostname=hostname)
                self.assertIn(why, str(cm.exception))
        # the chain itself is fine: only the host name fails
        self.assert_rejected_then_still_serving(self.wrong, before + 1)

    def test_plain_http_to_tls_port(self):
        before = self.good.admin("GET", "stats")["tls_handshake_failures"]
        with Conn(self.good.port, timeout=5) as c:
            c.send("GET", WRITE + "4150868000005392002", [("Authorization", AUTH)])
            try:
                self.assertNotIn(b"HTTP/1.1", c.sock.recv(65536))
            except ConnectionResetError:
                pass
        self.assert_rejected_then_still_serving(self.good, before)

    def test_stall_over_tls(self):
        # the stall must wait (its peer check works on a TLS socket)
        with Conn(self.good.port, timeout=0.5, tls=self.trusting) as c:
            c.send("GET", WRITE + "3000000000000000001", [("Authorization", AUTH)])
            with self.assertRaises(socket.timeout):
                c.rf.read1(1)
        e = self.good.finished_entry("3000000000000000001")
        self.assertEqual((e["bytes_sent"], e["complete"]), (0, False))

    def test_token_endpoint_over_tls(self):
        r = token_request(self.good.port, token_fields(new_rt("1000.rt.")),
                          tls=self.trusting)
        self.assertEqual(r.code, 200)
        self.assertEqual(r.doc["api_domain"], "https://127.0.0.1:%d" % self.good.port)
        # (not the seed job: test_trusting_ca_succeeds counts its connections)
        r = get(self.good.port, WRITE + "4150868000005350003",
                auth="Zoho-oauthtoken " + r.doc["access_token"], tls=self.trusting)
        self.assertEqual(r.code, 200)
        with open(os.path.join(JOBS, "4150868000005350003.json"), "rb") as f:
            self.assertEqual(r.body, f.read())

    def test_oversize_over_tls(self):
        r = get(self.good.port, WRITE + "3000000000000000005", tls=self.trusting)
        self.assertEqual(len(r.body), 24 * MIB)
        e = self.good.finished_entry("3000000000000000005")
        self.assertEqual((e["bytes_sent"], e["complete"]), (24 * MIB, True))


def zip_of(files):
    """A zip (bytes) holding files {name: text}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def multipart(data, name="file", boundary="zcrmtestboundary7MA4YWxk"):
    """A multipart/form-data body with one part (no part Content-Type, as
    Zoho's SDKs send it); returns (content type, body)."""
    body = (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"part.zip\"\r\n\r\n"
             % (boundary, name)).encode() + data + ("\r\n--%s--\r\n" % boundary).encode())
    return "multipart/form-data; boundary=" + boundary, body


UPLOAD_HEADERS = (("feature", "bulk-write"), ("X-CRM-ORG", "808232144"))
LEADS_CSV = ("Last_Name,Email,Company\r\nSmith,smith@example.com,Acme\r\n,nolast@example.com,Beta\r\n"
             "Jones,not-an-address,Gamma\r\nTwin,smith@example.com,Delta\r\n")


class LifecycleTest(unittest.TestCase):
    """The org call, the upload, job creation, progress and the result file
    (test/server/lifecycle.py)."""

    def setUp(self):
        SERVER.admin("POST", "reset")       # forgets stored records and jobs too
        self.configure({"upload_error_status": 200, "file_id_as_number": False, "shuffle": False,
                        "absolute_download_url": False, "fail_after": None, "polls_in_progress": 1})

    def configure(self, changes):
        with Conn(SERVER.port) as c:
            r = c.request("POST", "/__admin/lifecycle", body=json.dumps(changes).encode())
        self.assertEqual(r.code, 200, r.body)

    def call(self, method, path, headers=(), body=b""):
        with Conn(SERVER.port) as c:
            return c.request(method, path, [("Authorization", AUTH)] + list(headers), body)

    def upload(self, zip_bytes, headers=UPLOAD_HEADERS, name="file"):
        ctype, body = multipart(zip_bytes, name)
        r = self.call("POST", "/crm/v8/upload", [("Content-Type", ctype)] + list(headers), body)
        return r, json.loads(r.body)

    def create(self, body, version="v8"):
        r = self.call("POST", "/crm/bulk/%s/write" % version, [("Content-Type", "application/json")],
                      json.dumps(body).encode())
        return r, json.loads(r.body)

    def leads_job(self, csv_text=LEADS_CSV, operation="insert", find_by=None, version="v8"):
        _, up = self.upload(zip_of({"part1.csv": csv_text}))
        header = csv_text.split("\r\n")[0].split(",")
        res = {"type": "data", "module": "Leads" if version == "v2" else {"api_name": "Leads"},
               "file_id": up["details"]["file_id"],
               "field_mappings": [{"api_name": h, "index": i} for i, h in enumerate(header)]}
        if find_by:
            res["find_by"] = find_by
        r, doc = self.create({"operation": operation, "resource": [res]}, version)
        self.assertEqual(r.code, 201, doc)
        return doc["details"]["id"]

    def finish(self, job_id, version="v8"):
        """Poll until the job is done; returns (document, result rows)."""
        for _ in range(10):
            doc = json.loads(self.call("GET", "/crm/bulk/%s/write/%s" % (version, job_id)).body)
            if doc["status"] in ("COMPLETED", "FAILED"):
                break
        url = doc["result"]["download_url"]
        path = url.split("//", 1)[1].split("/", 1)[1] if "://" in url else url.lstrip("/")
        r = self.call("GET", "/" + path)
        self.assertEqual((r.code, r.h.get("content-type")), (200, "application/zip"))
        zf = zipfile.ZipFile(io.BytesIO(r.body))
        self.assertEqual(zf.namelist(), ["Leads-part1.csv"])
        rows = list(csv.reader(io.StringIO(zf.read("Leads-part1.csv").decode("utf-8"), newline="")))
        return doc, rows

    def test_org(self):
        r = self.call("GET", "/crm/v8/org")
        org = json.loads(r.body)["org"][0]
        self.assertEqual((r.code, org["zgid"], org["domain_name"]), (200, "808232144", "org808232144"))
        self.assertEqual(get(SERVER.port, "/crm/v8/org", auth=None).code, 401)

    def test_upload_success_and_numeric_file_id(self):
        r, doc = self.upload(zip_of({"a.csv": LEADS_CSV}))
        self.assertEqual((r.code, doc["code"]), (200, "FILE_UPLOAD_SUCCESS"))
        self.assertRegex(doc["details"]["file_id"], r"^[0-9]{19}$")
        self.configure({"file_id_as_number": True})
        r, doc = self.upload(zip_of({"a.csv": LEADS_CSV}))
        self.assertIsInstance(doc["details"]["file_id"], int)
        self.assertIn(b'"file_id":72', r.body)

    def test_upload_errors_both_variants(self):
        for status, codes in ((200, (200, 200, 200)), ("4xx", (400, 400, 400))):
            with self.subTest(upload_error_status=status):
                self.configure({"upload_error_status": status})
                r, doc = self.upload(b"this is not a zip")
                self.assertEqual((r.code, doc["status"], doc["code"]),
                                 (codes[0], "error", "INVALID_FILE_FORMAT"))
                r, doc = self.upload(zip_of({"a.csv": LEADS_CSV}), headers=())
                self.assertEqual((r.code, doc["code"]), (codes[1], "INVALID_REQUEST"))
                self.assertIn("feature, X-CRM-ORG", doc["message"])
                r, doc = self.upload(zip_of({"a.csv": LEADS_CSV}), name="other")
                self.assertEqual((r.code, doc["code"]), (codes[2], "MISSING_REQUIRED_KEY"))

    def test_upload_too_large(self):
        self.configure({"upload_error_status": "4xx"})
        big = os.urandom(25 * 1024 * 1024 + 10)
        r, doc = self.upload(big)
        self.assertEqual((r.code, doc["code"]), (413, "FILE_TOO_LARGE"))

    def test_create_errors(self):
        _, up = self.upload(zip_of({"part1.csv": LEADS_CSV}))
        fid = up["details"]["file_id"]
        maps = [{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1}]
        cases = [
            ({"resource": [{"module": {"api_name": "Leads"}, "file_id": fid}]}, "MISSING_REQUIRED_KEY"),
            ({"operation": "insert", "resource": [{"module": {"api_name": "Nope"}, "file_id": fid}]},
             "MODULE_NOT_AVAILABLE"),
            ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": "1"}]},
             "INVALID_FILE_ID"),
            ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": fid,
                                                   "field_mappings": [{"api_name": "Last_Name"}]}]},
             "COLUMN_INDEX_NOT_FOUND"),
            ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": fid,
                                                   "field_mappings": [{"api_name": "Last_Nam", "index": 0}]}]},
             "INVALID_FIELD"),
            ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": fid,
                                                   "field_mappings": [{"api_name": "Email", "index": 1}]}]},
             "MANDATORY_FIELDS_NOT_MAPPED"),
            ({"operation": "upsert", "resource": [{"module": {"api_name": "Leads"}, "file_id": fid,
                                                   "field_mappings": maps}]}, "MISSING_REQUIRED_KEY"),
            ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": fid,
                                                   "field_mappings": [{"api_name": "Last_Name", "index": 0}] * 201}]},
             "HEADER_LIMIT_EXCEEDED"),
        ]
        for body, code in cases:
            with self.subTest(code=code):
                r, doc = self.create(body)
                self.assertEqual((r.code, doc["status"], doc["code"]), (400, "error", code))
        # v2 wants the module as a string, later versions an object
        r, doc = self.create({"operation": "insert", "resource": [{"module": {"api_name": "Leads"},
                                                                    "file_id": fid}]}, "v2")
        self.assertEqual((r.code, doc["code"]), (400, "INVALID_DATA"))
        r, doc = self.create({"operation": "insert", "resource": [{"module": "Leads", "file_id": fid}]}, "v2")
        self.assertEqual((r.code, doc["code"]), (201, "SUCCESS"))

    def test_progress_and_row_results(self):
        job = self.leads_job()
        first = json.loads(self.call("GET", WRITE + job).body)
        self.assertEqual((first["status"], "result" in first), ("INPROGRESS", False))
        self.assertEqual(first["resource"][0]["module"], "Leads")       # v2 shape
        doc, rows = self.finish(job)
        self.assertEqual(doc["status"], "COMPLETED")
        self.assertTrue(doc["result"]["download_url"].startswith("/v8/crm/org808232144/bulk-write/"))
        self.assertEqual(rows[0], ["Last_Name", "Email", "Company", "STATUS", "RECORD_ID", "ERRORS"])
        got = [(r[0], r[3], r[5]) for r in rows[1:]]
        self.assertEqual(got, [("Smith", "added", ""), ("", "skipped", "MANDATORY_NOT_FOUND-Last_Name"),
                               ("Jones", "skipped", "INVALID_DATA-Email"),
                               ("Twin", "skipped", "DUPLICATE_DATA-Email")])
        self.assertRegex(rows[1][4], r"^[0-9]{19}$")
        f = doc["resource"][0]["file"]
        self.assertEqual((f["added_count"], f["skipped_count"], f["total_count"]), (1, 3, 4))

    def test_upsert_updates_and_unprocessed(self):
        first = self.leads_job("Last_Name,Email\r\nAnn,ann@example.com\r\n")
        _, rows = self.finish(first)
        rid = rows[1][rows[0].index("RECORD_ID")]
        job = self.leads_job("Last_Name,Email\r\nAnn,ann@example.com\r\nBob,bob@example.com\r\n",
                             operation="upsert", find_by="Email")
        _, rows = self.finish(job)
        st, rc = rows[0].index("STATUS"), rows[0].index("RECORD_ID")
        self.assertEqual([(r[st], r[rc] == rid) for r in rows[1:]], [("updated", True), ("added", False)])
        self.configure({"fail_after": 1})
        job = self.leads_job("Last_Name,Email\r\nCid,cid@example.com\r\nDee,dee@example.com\r\n")
        doc, rows = self.finish(job)
        self.assertEqual((doc["status"], [r[st] for r in rows[1:]]), ("FAILED", ["added", "unprocessed"]))

    def test_shuffle_and_absolute_url(self):
        text = "Last_Name,Email\r\n" + "".join("N%02d,n%02d@example.com\r\n" % (i, i) for i in range(30))
        self.configure({"shuffle": True, "absolute_download_url": True})
        job = self.leads_job(text)
        doc, rows = self.finish(job)
        self.assertTrue(doc["result"]["download_url"].startswith("http://127.0.0.1:%d/v8/" % SERVER.port))
        names = [r[0] for r in rows[1:]]
        self.assertNotEqual(names, sorted(names))
        self.assertEqual(sorted(names), ["N%02d" % i for i in range(30)])

    def test_result_fault_revoke_token(self):
        """"result_fault": "revoke_token" makes the next result download
        revoke every issued access token and answer 401 INVALID_TOKEN, once:
        the revoked token stays refused, a newly issued one downloads."""
        job = self.leads_job()
        self.call("GET", WRITE + job)
        path = json.loads(self.call("GET", WRITE + job).body)["result"]["download_url"]
        old = refresh(new_rt("1000.rt.")).doc["access_token"]
        self.assertEqual(get(SERVER.port, path, auth="Zoho-oauthtoken " + old).code, 200)
        self.configure({"result_fault": "revoke_token"})
        r = get(SERVER.port, path, auth="Zoho-oauthtoken " + old)
        self.assertEqual((r.code, json.loads(r.body)["code"]), (401, "INVALID_TOKEN"))
        self.assertEqual(SERVER.admin("GET", "lifecycle")["config"]["result_fault"], None)
        self.assertEqual(get(SERVER.port, path, auth="Zoho-oauthtoken " + old).code, 401)
        new = refresh(new_rt("1000.rt.")).doc["access_token"]
        r = get(SERVER.port, path, auth="Zoho-oauthtoken " + new)
        self.assertEqual((r.code, r.h.get("content-type")), (200, "application/zip"))
        names = [e["scenario"] for e in SERVER.admin("GET", "requests") if e.get("kind") != "token"][-3:]
        self.assertEqual(names[0], "result_fault:revoke_token")
        with Conn(SERVER.port) as c:
            r = c.request("POST", "/__admin/lifecycle", body=json.dumps({"result_fault": "drop"}).encode())
        self.assertNotEqual(r.code, 200)

    def test_result_variants(self):
        """"result_variant" serves each broken result file it names; an
        unknown variant is refused and null serves the real file again."""
        job = self.leads_job()
        self.call("GET", WRITE + job)
        doc = json.loads(self.call("GET", WRITE + job).body)
        path = doc["result"]["download_url"]
        real = self.call("GET", path).body
        text = zipfile.ZipFile(io.BytesIO(real)).read("Leads-part1.csv").decode()
        got = {}
        for variant in sorted(lifecycle.RESULT_VARIANTS):
            self.configure({"result_variant": variant})
            r = self.call("GET", path)
            self.assertEqual((r.code, r.h.get("content-type")), (200, "application/zip"), variant)
            got[variant] = r.body
        for variant in ("not_zip", "truncated"):
            with self.assertRaises(zipfile.BadZipFile, msg=variant):
                zipfile.ZipFile(io.BytesIO(got[variant]))
        bomb = zipfile.ZipFile(io.BytesIO(got["bomb"])).infolist()
        self.assertEqual([(i.file_size, len(got["bomb"]) < 200000) for i in bomb],
                         [(lifecycle.BOMB_SIZE, True)])
        lying = zipfile.ZipFile(io.BytesIO(got["bomb_lying"])).infolist()
        self.assertEqual([i.file_size for i in lying], [1000])
        zf = zipfile.ZipFile(io.BytesIO(got["no_status"]))
        self.assertEqual(zf.read("Leads-part1.csv").decode(), text.replace("STATUS", "STATE", 1))
        self.assertNotIn("STATUS", zf.read("Leads-part1.csv").decode().split("\r\n")[0])
        bad = zipfile.ZipFile(io.BytesIO(got["bad_csv"])).read("Leads-part1.csv").decode()
        with self.assertRaises(csv.Error):
            list(csv.reader(io.StringIO(bad, newline=""), strict=True))
        self.assertEqual(zipfile.ZipFile(io.BytesIO(got["only_directory"])).namelist(), ["results/"])
        zf = zipfile.ZipFile(io.BytesIO(got["renamed"]))
        self.assertEqual((zf.namelist(), zf.read("result.csv").decode()), (["results/", "result.csv"], text))
        ragged = zipfile.ZipFile(io.BytesIO(got["ragged"])).read("Leads-part1.csv").decode()
        self.assertEqual(ragged, text + "short\r\n")
        info = zipfile.ZipFile(io.BytesIO(got["encrypted"])).infolist()[0]
        self.assertEqual(info.flag_bits & 1, 1)
        with Conn(SERVER.port) as c:
            r = c.request("POST", "/__admin/lifecycle", body=json.dumps({"result_variant": "nope"}).encode())
        self.assertEqual(r.code, 400)
        self.configure({"result_variant": None})
        again = zipfile.ZipFile(io.BytesIO(self.call("GET", path).body))
        self.assertEqual((again.namelist(), again.read("Leads-part1.csv").decode()),
                         (["Leads-part1.csv"], text))

    def test_lifecycle_is_logged_and_counted(self):
        before = SERVER.admin("GET", "lifecycle")
        job = self.leads_job()
        after = SERVER.admin("GET", "lifecycle")
        self.assertEqual((after["uploads"] - before["uploads"], after["creates"] - before["creates"]), (1, 1))
        self.assertEqual(after["jobs"][job]["rows"], 4)
        names = [e["scenario"] for e in SERVER.admin("GET", "requests")][-2:]
        self.assertEqual(names, ["upload", "create"])

    def test_create_fault_once(self):
        _, up = self.upload(zip_of({"part1.csv": LEADS_CSV}))
        body = {"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"},
                                                     "file_id": up["details"]["file_id"]}]}
        self.configure({"create_fault": "500"})
        r, doc = self.create(body)
        self.assertEqual((r.code, doc["code"]), (500, "INTERNAL_ERROR"))
        self.assertEqual(SERVER.admin("GET", "lifecycle")["creates"], 0)
        r, doc = self.create(body)              # once only
        self.assertEqual(r.code, 201)
        self.configure({"create_fault": "drop"})
        with self.assertRaises((ProtocolError, ConnectionError, OSError)):
            self.create(body)
        life = SERVER.admin("GET", "lifecycle")
        self.assertEqual((life["creates"], life["config"]["create_fault"]), (2, None))
        self.assertEqual([c["body"] for c in life["create_requests"]], [body, body, body])
        names = [e["scenario"] for e in SERVER.admin("GET", "requests")][-3:]
        self.assertEqual(names, ["create_fault:500", "create", "create_fault:drop"])

    def test_create_reply_delay(self):
        _, up = self.upload(zip_of({"part1.csv": LEADS_CSV}))
        body = {"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"},
                                                     "file_id": up["details"]["file_id"]}]}
        self.configure({"create_reply_delay_ms": 400})
        t0 = time.monotonic()
        r, doc = self.create(body)
        took = time.monotonic() - t0
        self.configure({"create_reply_delay_ms": None})
        self.assertEqual(r.code, 201)
        self.assertGreater(took, 0.38)
        # the job existed before its reply was sent
        self.assertIn(doc["details"]["id"], SERVER.admin("GET", "lifecycle")["jobs"])

    def test_call_delay(self):
        """"call_delay_ms" holds the org call, the upload, the create, a
        poll of a created job and the result download, each once; not the
        job-details answer of another job, not an auth failure, not admin
        calls; bad values are refused, null ends it."""
        def timed(fn, *args):
            t0 = time.monotonic()
            out = fn(*args)
            return time.monotonic() - t0, out
        self.configure({"call_delay_ms": 300, "polls_in_progress": 0})
        took = {}
        took["org"], r = timed(self.call, "GET", "/crm/v8/org")
        self.assertEqual(r.code, 200)
        took["upload"], (_, up) = timed(self.upload, zip_of({"part1.csv": LEADS_CSV}))
        self.assertEqual(up["code"], "FILE_UPLOAD_SUCCESS")
        body = {"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"},
                                                     "file_id": up["details"]["file_id"]}]}
        took["create"], (r, doc) = timed(self.create, body)
        self.assertEqual(r.code, 201, doc)
        job = doc["details"]["id"]
        took["poll"], r = timed(self.call, "GET", WRITE + job)
        poll = json.loads(r.body)
        self.assertEqual(poll["status"], "COMPLETED")          # polls_in_progress 0: at once
        took["result"], r = timed(self.call, "GET", poll["result"]["download_url"])
        self.assertEqual((r.code, r.h.get("content-type")), (200, "application/zip"))
        for call, t in took.items():
            self.assertGreater(t, 0.29, call)
            self.assertLess(t, 2.0, call)                      # once, not twice
        took["seed"], r = timed(self.call, "GET", WRITE + "4150868000005392002")
        self.assertEqual(r.code, 200)
        took["bad_auth"], r = timed(get, SERVER.port, "/crm/v8/org", "Zoho-oauthtoken nope")
        self.assertEqual(r.code, 401)
        took["admin"], _ = timed(SERVER.admin, "GET", "lifecycle")
        for call in ("seed", "bad_auth", "admin"):
            self.assertLess(took[call], 0.25, call)
        names = [e["scenario"] for e in SERVER.admin("GET", "requests")]
        self.assertEqual(names[:5], ["org", "upload", "create", "lifecycle_job", "result"])
        for bad in (-1, "100", True, 1.5):
            with Conn(SERVER.port) as c:
                r = c.request("POST", "/__admin/lifecycle", body=json.dumps({"call_delay_ms": bad}).encode())
            self.assertEqual(r.code, 400, bad)
        self.configure({"call_delay_ms": None})
        t, r = timed(self.call, "GET", "/crm/v8/org")
        self.assertEqual(r.code, 200)
        self.assertLess(t, 0.25)

    def test_upload_throttle_released(self):
        """An upload read slowly (it sits whole in the socket buffer, as an
        interrupted client's does) finishes at once when the throttle is set
        back to null, instead of being routed long after."""
        data = zip_of({"a.csv": LEADS_CSV + "".join("R%d,r%d@example.com,x\r\n" % (i, i) for i in range(200))})
        self.assertGreater(len(data), 1000)
        self.configure({"upload_read_bytes_per_s": 40})
        before = SERVER.admin("GET", "lifecycle")["uploads"]
        got = {}

        def send():
            got["r"] = self.upload(data)

        t = threading.Thread(target=send)
        t0 = time.monotonic()
        t.start()
        time.sleep(0.5)
        self.assertEqual(SERVER.admin("GET", "lifecycle")["uploads"], before)   # still being read
        self.configure({"upload_read_bytes_per_s": None})
        t.join(10)
        took = time.monotonic() - t0
        self.assertFalse(t.is_alive())
        self.assertEqual(got["r"][1]["code"], "FILE_UPLOAD_SUCCESS")
        self.assertLess(took, 3.0)                   # at 40 B/s it would take > 25 s
        self.assertEqual(SERVER.admin("GET", "lifecycle")["uploads"], before + 1)

    def test_upload_throttle_and_headers_recorded(self):
        rows = "".join("R%d,r%d@example.com,%s\r\n" % (i, i, os.urandom(32).hex()) for i in range(6000))
        data = zip_of({"a.csv": LEADS_CSV + rows})
        self.assertGreater(len(data), 200000)
        self.configure({"upload_read_bytes_per_s": 400000})
        t0 = time.monotonic()
        r, doc = self.upload(data, headers=UPLOAD_HEADERS + (("Expect", "nothing-really"),))
        took = time.monotonic() - t0
        self.assertEqual(doc["code"], "FILE_UPLOAD_SUCCESS")
        self.assertGreater(took, 0.35)
        rec = SERVER.admin("GET", "lifecycle")["upload_requests"][-1]
        self.assertEqual(rec["host"], "127.0.0.1")
        self.assertEqual((rec["expect"], rec["feature"], rec["x_crm_org"], rec["file_name"],
                          rec["part_content_type"], rec["content_type"]),
                         ("nothing-really", "bulk-write", "808232144", "part.zip", None,
                          "multipart/form-data"))
        # a client that goes away mid-upload leaves nothing behind
        before = len(SERVER.admin("GET", "requests"))
        ctype, body = multipart(data)
        head = ["POST /crm/v8/upload HTTP/1.1", "Host: 127.0.0.1", "Authorization: " + AUTH,
                "Content-Type: " + ctype, "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in UPLOAD_HEADERS]
        with Conn(SERVER.port) as c:
            c.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body[:50000])
            time.sleep(0.2)
        time.sleep(0.3)
        self.assertEqual(len(SERVER.admin("GET", "requests")), before)
        self.assertEqual(SERVER.admin("GET", "lifecycle")["uploads"], 1)

    def test_wrong_method_and_auth(self):
        self.assertEqual(json.loads(self.call("GET", "/crm/v8/upload").body)["code"], "INVALID_REQUEST_METHOD")
        r = get(SERVER.port, "/crm/bulk/v8/write", auth="Zoho-oauthtoken nope", method="POST")
        self.assertEqual((r.code, json.loads(r.body)["code"]), (401, "INVALID_TOKEN"))


class FastPathTest(unittest.TestCase):
    """lifecycle.py's shortcuts against the standard library they stand in
    for, on seeded random inputs: _fast_part() (via multipart_part) against
    email.parser, csv_rows() against csv.reader, result_lines() against
    csv.writer.  A shortcut that does not apply must say so (None), never
    answer differently."""

    @staticmethod
    def part_info(part):
        if part is None:
            return None
        ctype = part.get("Content-Type")
        return (part.get_filename(), None if ctype is None else str(ctype),
                part.get_payload(decode=True))

    def test_multipart(self):
        rnd = random.Random(7)
        pieces = [b"\r", b"\n", b"\r\n", b"--", b" ", b"\t", b"\x0c", b"\x85", b"\xff", b"x", b"\0"]
        fast = 0
        for _ in range(800):
            boundary = rnd.choice(["zcrmtestboundary7MA4YWxk", "------------------------d74496d66958873e",
                                   "a.b_c-d", "x"])
            ctype = "multipart/form-data; boundary=" + boundary
            if rnd.random() < 0.1:
                ctype = rnd.choice([ctype + " ", ctype + ";", ctype.replace("=", '="') + '"'])
            delim = b"--" + boundary.encode()
            heads = [b'Content-Disposition: form-data; name="file"' + rnd.choice(
                [b'; filename="part.zip"', b"", b'; filename="a b.zip"', b'; filename=""'])]
            if rnd.random() < 0.3:
                heads.append(rnd.choice([b"Content-Type: application/zip", b"Content-Type: text/plain",
                                         b"Content-Type: multipart/mixed", b"Content-Type: Application/Zip"]))
            if rnd.random() < 0.05:
                heads.append(b"Content-Transfer-Encoding: base64")
            payload = bytearray(os.urandom(rnd.randint(0, 60)))
            for _ in range(rnd.randint(0, 6)):
                at = rnd.randint(0, len(payload))
                payload[at:at] = rnd.choice(pieces + [delim, delim + b"--", b"\r\n" + delim,
                                                      b"\n" + delim + b"\r\n", b"\r" + delim + b"--"])
            tail = rnd.choice([b"\r\n" + delim + b"--\r\n", b"\r\n" + delim + b"--",
                               b"\n" + delim + b"-- \r\n", b"\r\n" + delim + b"\r\n", b""])
            body = delim + b"\r\n" + b"\r\n".join(heads) + b"\r\n\r\n" + bytes(payload) + tail
            if rnd.random() < 0.1:
                body = rnd.choice([b"pre\r\n", b"\r\n"]) + body
            part = lifecycle.multipart_part(ctype, body)
            fast += isinstance(part, lifecycle._FastPart)
            self.assertEqual(self.part_info(part), self.part_info(lifecycle.email_part(ctype, body)),
                             (ctype, body))
        self.assertGreater(fast, 100)         # the shortcut was taken, and often

    def test_csv_rows(self):
        rnd = random.Random(8)
        chars = ["a", "b", ",", "\r\n", "\r\n", "\r", "\n", '"', " ", "\0", "\u00e9", "\u2028", ""]
        texts = ["".join(rnd.choice(chars) for _ in range(rnd.randint(0, 20))) for _ in range(4000)]
        texts.append("x" * (csv.field_size_limit() + 1) + "\r\n")

        def reference(text):
            try:
                return list(csv.reader(io.StringIO(text, newline="")))
            except csv.Error as e:
                return "csv.Error: %s" % e

        for text in texts:
            try:
                got = lifecycle.csv_rows(text)
            except csv.Error as e:
                got = "csv.Error: %s" % e
            self.assertEqual(got, reference(text), repr(text))

    def test_result_lines(self):
        rnd = random.Random(9)
        values = ["", "a", "b,c", 'q"u', "x\r\ny", "\r", "\n", "\u00e9", " s "]
        shared = [("MANDATORY_NOT_FOUND", ["Deal_Name", "Stage"])]
        outcomes = [("added", "7300000000000000001", lifecycle.NO_ERRORS), ("updated", "7300000000000000002", []),
                    ("skipped", "", shared), ("skipped", "", [("RESOURCE_NOT_FOUND", ['a"b'])]),
                    ("skipped", "", [("MANDATORY_NOT_FOUND", ["Last_Name"]), ("INVALID_DATA", ["Email"])]),
                    ("unprocessed", "", lifecycle.NO_ERRORS)]
        taken = 0
        for _ in range(3000):
            width = rnd.randint(1, 5)
            shown = sorted(rnd.sample(range(width), rnd.randint(1, min(3, width))))
            clean = rnd.random() < 0.5
            rows = [[rnd.choice(["a", "bb", ""] if clean else values)
                     for _ in range(width if clean else rnd.choice([width] * 6 + [0, width + 1]))]
                    for _ in range(rnd.randint(0, 12))]
            results = [rnd.choice(outcomes) for _ in rows]
            order = list(range(len(rows)))
            if rnd.random() < 0.5:
                rnd.shuffle(order)
            got = lifecycle.result_lines(shown, rows, results, order)
            if got is None:
                continue
            taken += 1
            out = io.StringIO(newline="")
            w = csv.writer(out, lineterminator="\r\n")
            for n in order:
                status, rid, errors = results[n]
                w.writerow([rows[n][i] for i in shown] +
                           [status, rid, ":".join("%s-%s" % (c, ",".join(f)) for c, f in errors)])
            self.assertEqual(got, out.getvalue(), (shown, rows, results, order))
        self.assertGreater(taken, 500)


class FilesTest(unittest.TestCase):

    def test_extract_seed_check(self):
        seed, tried = find_seed()
        if seed is None:
            self.fail("seed document not found (tried %s); set ZCRM_SEED_FILE" % tried)
        p = subprocess.run([PY, EXTRACT, "--check", seed], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # a changed seed must be noticed
        with tempfile.TemporaryDirectory() as d:
            with open(seed, encoding="utf-8") as f:
                text = f.read()
            changed = os.path.join(d, "seed.txt")
            with open(changed, "w", encoding="utf-8") as f:
                self.assertIn('"value": "ZGS"', text)
                f.write(text.replace('"value": "ZGS"', '"value": "ZGS2"', 1))
            p = subprocess.run([PY, EXTRACT, "--check", changed], capture_output=True)
            self.assertEqual(p.returncode, 1, p.stderr)

    def test_readme_table_in_sync(self):
        p = subprocess.run([PY, MOCK, "--print-table"], capture_output=True, check=True)
        with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertIn(p.stdout.decode("utf-8"), readme,
                      "README.md table differs from zoho_mock.py --print-table")

    def test_readme_token_table_in_sync(self):
        p = subprocess.run([PY, MOCK, "--print-token-table"], capture_output=True,
                           check=True)
        with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertIn(p.stdout.decode("utf-8"), readme,
                      "README.md token table differs from --print-token-table")


def main():
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=verbosity).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    sys.stderr.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main())
