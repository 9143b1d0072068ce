#!/usr/bin/python3
"""zoho_mock.py - local stand-in for the Zoho CRM Bulk Write "job details" API.

    GET /crm/bulk/{version}/write/{job_id}
    Authorization: Zoho-oauthtoken <token>

zcrm_bulk's tests and demo run against this server because the real API is
not reachable.  Python 3 standard library only.

Every response is written byte by byte with wfile.write (status line,
headers, body): BaseHTTPRequestHandler's send_response()/send_header() are
never used, so no Server/Date header is added behind our back.  The five
responses of the seed document (fixtures/seed_collection.json, made by
extract_seed.py) are replayed with the seed's status line, header list and
body; what every job id returns is in SCENARIOS below (one table), and is
documented in README.md (`zoho_mock.py --print-table` prints that table).

Start:
    /usr/bin/python3 test/server/zoho_mock.py --host 127.0.0.1 --port 18089 \
        --token 1000.zcrmtest.accesstoken --log /tmp/zoho_mock.log \
        --pidfile /tmp/zoho_mock.pid --ready-file /tmp/zoho_mock.ready

--port 0 picks a free port; the ready file (JSON: pid, host, port, url) says
which.  SIGTERM or SIGINT stops the server at once, whatever the handler
threads (daemon threads) are doing.

--tls-cert FILE --tls-key FILE serve the same routing over HTTPS (each
accepted connection is wrapped in its own thread, so a failed handshake
ends that connection only); make_certs.sh DIR makes test certificates.

Admin endpoints (not logged): GET /__admin/requests, POST /__admin/reset,
GET /__admin/stats, GET /__admin/token-stats, POST
/__admin/revoke-access-tokens.  The request log never holds a token, a
client secret or the value of an Authorization header.  Each entry gets
"bytes_sent" and "complete" when its response ends (see State.finish).

POST /oauth/v2/token (grant_type=refresh_token, client_id, client_secret,
refresh_token; form body or query string) plays the Zoho Accounts token
endpoint: the refresh token's prefix chooses the reply (TOKEN_SCENARIOS;
--print-token-table), and an issued access token is accepted by the API
routes until it expires or POST /__admin/revoke-access-tokens.

--list-wrong-types prints the generated wrong-JSON-type jobs (job id, TAB,
field path); they are built from one base document, see WRONG_TYPES.

More generated families (19-digit ids, any digit where the table shows x;
rows 51xxxxxxxxxxxxDDDDD, 52xxxxxxxxxxxNNNNNN, 53/54xxxxxxxxxxxxKKKKK and
55xxxxxxxxxxxxxxNNN of SCENARIOS):
  51 + 12 digits + DDDDD: after D ms (e.g. 5100000000000000200 = 200 ms) the
    seed SUCCESS replay (same status line, headers, gzip + chunked framing),
    its body with only the top-level "id" changed to the requested id.
  52 + 11 digits + NNNNNN (N <= 200000, else answered as an unknown job):
    the seed SUCCESS document with "id" = the requested id and one resource
    whose "field_mappings" has N generated entries (see many_mappings_doc);
    served like the other JSON jobs (gzip + chunked); bodies are cached.
  55 + 14 digits + NNN: the v2.1 COMPLETED sample with "id" = the
    requested id and N resources (see many_resources_doc).

--delay-ms N holds every response to the job-details path
(/crm/bulk/{version}/write/{digits}, whatever the method, token or job id)
N ms after the request is routed and logged, before its first byte, on top
of whatever the scenario does.  Not: /__admin/*, /oauth/v2/token, other
paths.  The wait ends early (response not sent) when the client goes away
or the server stops.

GET /__admin/stats also says "in_flight" (API and token requests routed
whose response has not ended yet; it ends when its last byte is handed to
the kernel, when the scenario cuts it short, or when a write fails) and
"max_in_flight" (the highest in_flight since start, or since POST
/__admin/reset, which sets it to the in_flight of that moment).  Exact
under threads (State.lock); see State for how a request is counted out.
"""

import argparse
import collections
import datetime
import email.utils
import gzip
import hashlib
import http
import ipaddress
import json
import os
import re
import secrets
import select
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lifecycle  # noqa: E402  (the Bulk Write lifecycle: org, upload, create, result)
FIXTURES = os.path.join(HERE, "fixtures")
SEED_FIXTURE = os.path.join(FIXTURES, "seed_collection.json")
JOB_FIXTURES = os.path.join(FIXTURES, "jobs")

DEFAULT_TOKEN = "1000.zcrmtest.accesstoken"
WRITE_PATH = re.compile(r"^/crm/bulk/(v2|v2\.1|v[3-8])/write/([0-9]+)$")
TOKEN_PATH = "/oauth/v2/token"                 # Zoho Accounts token endpoint
DEFAULT_OTHER_API_DOMAIN = "http://127.0.0.2:1"
DEFAULT_TOKEN_LIFETIME = 3600  # seconds an issued token lives without expires_in
WRONG_SECRET = "wrong-secret"                  # client_secret -> invalid_client
REFRESH_SHA_LEN = 12                           # hex digits of refresh_token_sha
# What the API-path redaction masks: issued access tokens and refresh tokens.
TOKEN_SHAPES = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}|1000\.rt\.[^/]*")

MIB = 1024 * 1024
FAULT_WAIT = 60.0          # longest stall / drip of the fault scenarios
DRIP_INTERVAL = 0.2
SMALL_CHUNK = 64           # chunk size of ordinary chunked bodies
BIG_CHUNK = 64 * 1024      # chunk size of the oversize bodies
MAX_REQUEST_BODY = MIB     # request bodies are read and dropped up to this
HANDSHAKE_TIMEOUT = 10.0   # TLS handshake of a new connection

# Set when the server is shutting down: stalls and drips end at once.
SHUTDOWN = threading.Event()


def http_date():
    return email.utils.formatdate(usegmt=True)


def reason_of(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def gz(data):
    """Deterministic gzip (mtime 0)."""
    return gzip.compress(data, mtime=0)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# The seed responses
# ---------------------------------------------------------------------------

class SeedReply:
    """One seed response, ready to send: status line, headers, wire body.

    Content-Length: every Content-Length in the seed is 12 bytes smaller
    than the body string stored next to it (131/143, 124/136, 98/110 for
    INVALID_URL_PATTERN, INVALID_REQUEST_METHOD, AUTHENTICATION_FAILURE).
    The seed's value is sent only when it equals the real length of what
    goes on the wire; otherwise the real length is sent, in the same place
    in the header list.  `content_length_note` records the discrepancy.
    """

    def __init__(self, item):
        self.item = item
        self.name = item["name"]
        self.code = int(item["code"])
        self.reason = item["status"]
        self.body = item["body"].encode("utf-8")       # decoded body
        self.seed_headers = [(h["key"], h["value"]) for h in item["header"]]
        hdr = {k.lower(): v for k, v in self.seed_headers}
        self.gzip = hdr.get("content-encoding", "").lower() == "gzip"
        self.chunked = hdr.get("transfer-encoding", "").lower() == "chunked"
        self.wire_body = gz(self.body) if self.gzip else self.body
        self.content_length_note = None
        self.headers = []
        for k, v in self.seed_headers:
            if k.lower() == "content-length" and int(v) != len(self.wire_body):
                self.content_length_note = (
                    "seed says Content-Length %s, body is %d bytes; sending %d"
                    % (v, len(self.wire_body), len(self.wire_body)))
                v = str(len(self.wire_body))
            self.headers.append((k, v))

    def with_body(self, body):
        """The same response with another (decoded) body string: same
        status line, headers and framing; a Content-Length is recomputed."""
        return SeedReply(dict(self.item, body=body))


def load_seed(path=SEED_FIXTURE):
    try:
        with open(path, encoding="utf-8") as f:
            item = json.load(f)
    except OSError as e:
        sys.exit("zoho_mock: cannot read %s (%s); run extract_seed.py first"
                 % (path, e))
    return {r["name"]: SeedReply(r) for r in item["response"]}


SEED = load_seed()


# ---------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------

_fixture_cache = {}


def fixture(name):
    """Bytes of fixtures/jobs/<name>.json, exactly as stored."""
    data = _fixture_cache.get(name)
    if data is None:
        with open(os.path.join(JOB_FIXTURES, name + ".json"), "rb") as f:
            data = f.read()
        _fixture_cache[name] = data
    return data


def job_body(job_id, base="4150868000005350003", **changes):
    """A compact job body: fixture `base` with a new id and top-level changes."""
    obj = json.loads(fixture(base))
    obj["id"] = job_id
    obj.update(changes)
    return compact(obj)


def error_body(code, message, details=None):
    return compact({"code": code, "details": details or {}, "message": message,
                    "status": "error"})


def invalid_utf8_body():
    obj = json.loads(fixture("4150868000005350003"))
    obj["id"] = "1000000000000000016"
    obj["created_by"]["name"] = "@NAME@"
    # 0xC3 0x28 is a bad 2-byte sequence, 0xFF never occurs in UTF-8.
    return compact(obj).replace(b"@NAME@", b"Pat\xc3\x28ricia \xff Boyle")


def padded_pieces(total, prefix, suffix, fill, size):
    """Yield `prefix + fill * n + suffix` (total bytes) in pieces of `size`."""
    pad_end = total - len(suffix)
    pos = 0
    while pos < total:
        end = min(pos + size, total)
        out = bytearray()
        if pos < len(prefix):
            out += prefix[pos:min(end, len(prefix))]
        a, b = max(pos, len(prefix)), min(end, pad_end)
        if b > a:
            out += fill * (b - a)
        if end > pad_end:
            out += suffix[max(pos, pad_end) - pad_end:end - pad_end]
        yield bytes(out)
        pos = end


def oversize_pieces(job_id):
    prefix = b'{"id":"%s","status":"ADDED","padding":"' % job_id.encode()
    return padded_pieces(24 * MIB, prefix, b'"}', b"x", BIG_CHUNK)


_bomb_lock = threading.Lock()
_bomb = None


def gzip_bomb():
    """gzip of a 64 MiB JSON object that is almost all spaces (cached)."""
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            c = zlib.compressobj(9, zlib.DEFLATED, 31)   # gzip wrapper, mtime 0
            out = []
            for piece in padded_pieces(
                    64 * MIB, b'{"id":"3000000000000000006","status":"ADDED"',
                    b"}", b" ", MIB):
                out.append(c.compress(piece))
            out.append(c.flush())
            _bomb = b"".join(out)
        return _bomb


def deep_body():
    n = 100000
    return (b'{"id":"3000000000000000009","x":' + b"[" * n + b"]" * n + b"}")


def split_at_top_level_id(text):
    """(before, after): text = before + <the top-level "id" value's digits>
    + after, so that another id can be put in its place without touching
    one other byte (formatting included).  Checked by parsing."""
    doc = json.loads(text)
    old = doc["id"]
    old_text = old if isinstance(old, str) else str(old)
    for m in re.finditer(r'"id"\s*:\s*"?(%s)' % re.escape(old_text), text):
        before, after = text[:m.start(1)], text[m.end(1):]
        probe = "9" * len(old_text)
        if json.loads(before + probe + after) == dict(doc, id=type(old)(probe)):
            return before, after
    raise ValueError("top-level id %r not found in the seed body" % old)


# Family 51: the seed SUCCESS body with another top-level id.
_SEED_ID_SPLIT = split_at_top_level_id(SEED["SUCCESS RESPONSE"].item["body"])


def seed_success_with_id(job_id):
    """The seed SUCCESS reply (status line, headers, framing) whose body's
    top-level "id" is job_id; every other byte of the body is the seed's."""
    before, after = _SEED_ID_SPLIT
    return SEED["SUCCESS RESPONSE"].with_body(before + job_id + after)


# Family 52: the seed SUCCESS document with N generated field mappings.
MANY_MAPPINGS_MAX = 200000
MANY_MAPPINGS_CACHE = 4          # bodies kept (LRU); N 200000: ~10 MB + 1.1 MB gzip
_many_cache = collections.OrderedDict()    # job id -> (body, gzip of body)
_many_lock = threading.Lock()


def many_mappings_count(job_id):
    """N of a 52-family id (its last 6 digits), None when above the max."""
    n = int(job_id[-6:])
    return n if n <= MANY_MAPPINGS_MAX else None


def generated_mapping(i):
    """Field mapping i of the 52 family: api_name Field_<i> and index i;
    default_value {"value": "v<i>"} when i % 10 == 0, format "MM/dd/yyyy"
    when i % 7 == 0, find_by "id" and module "Accounts" when i % 13 == 0."""
    m = {"api_name": "Field_%d" % i, "index": i}
    if i % 10 == 0:
        m["default_value"] = {"value": "v%d" % i}
    if i % 7 == 0:
        m["format"] = "MM/dd/yyyy"
    if i % 13 == 0:
        m["find_by"] = "id"
        m["module"] = "Accounts"
    return m


def many_mappings_doc(job_id, n):
    """The seed SUCCESS document, "id" job_id, and exactly one resource: the
    seed's first, its "field_mappings" replaced by n generated_mapping()s
    (every other key of the resource and of the job as in the seed)."""
    doc = json.loads(SEED["SUCCESS RESPONSE"].body)
    doc["id"] = job_id
    resource = doc["resource"][0]
    resource["field_mappings"] = [generated_mapping(i) for i in range(n)]
    doc["resource"] = [resource]
    return doc


def many_mappings_body(job_id):
    """(compact body, its gzip) of a 52-family job, from a small LRU cache."""
    return cached_body(job_id, lambda: compact(many_mappings_doc(job_id, many_mappings_count(job_id))))


def cached_body(job_id, make):
    """(body, its gzip) of a generated job, make() building the body, from
    a small LRU cache shared by the generated families 52, 53 and 54."""
    with _many_lock:
        hit = _many_cache.get(job_id)
        if hit is not None:
            _many_cache.move_to_end(job_id)
            return hit
    body = make()
    hit = (body, gz(body))
    with _many_lock:
        _many_cache[job_id] = hit
        _many_cache.move_to_end(job_id)
        while len(_many_cache) > MANY_MAPPINGS_CACHE:
            _many_cache.popitem(last=False)
    return hit


# Family 55: a COMPLETED job with N resources.
MANY_RESOURCES_MAX = 999


def many_resources_doc(job_id, n):
    """The v2.1 COMPLETED sample (fixture 4150868000005350003), "id" job_id,
    and n resources: resource i is the sample's with module api_name
    "Module_<i>" and id 4150868000000002175 + i, file name "File_<i>.csv"
    and counts added i + 1, updated 0, skipped 0, total i + 1."""
    doc = json.loads(fixture("4150868000005350003"))
    doc["id"] = job_id
    base = doc["resource"][0]
    resources = []
    for i in range(n):
        r = json.loads(json.dumps(base))
        r["module"] = {"id": str(4150868000000002175 + i), "api_name": "Module_%d" % i}
        r["file"].update(name="File_%d.csv" % i, added_count=i + 1, updated_count=0,
                         skipped_count=0, total_count=i + 1)
        resources.append(r)
    doc["resource"] = resources
    return doc
# Families 53 and 54: about K KiB of tiny elements.
TINY_MAX_KIB = 64 * 1024


def tiny_size(job_id):
    """K of a 53- or 54-family id (its last 5 digits), None above the max."""
    k = int(job_id[-5:])
    return k if k <= TINY_MAX_KIB else None


def tiny_elements_body(job_id):
    """A COMPLETED job of exactly K KiB (K = tiny_size): in family 53 its
    "resource" array holds nothing but empty objects {}, in family 54 it
    has one resource whose "field_mappings" holds nothing but {}; as many
    as fit, the rest of the K KiB spaces before the last brace."""
    if job_id.startswith("53"):
        head = '{"id":"%s","status":"COMPLETED","resource":[' % job_id
        tail = "]}"
    else:
        head = ('{"id":"%s","status":"COMPLETED","resource":[{"type":"data",'
                '"module":"Leads","field_mappings":[' % job_id)
        tail = "]}]}"
    size = tiny_size(job_id) * 1024
    n = max(0, (size - len(head) - len(tail) + 1) // 3)
    body = head + ",".join(["{}"] * n) + tail
    return (body[:-1] + " " * max(0, size - len(body)) + body[-1]).encode()


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

def zgs_headers(content_type, framing, gzipped):
    """Header list in the style of the seed SUCCESS response (current Date).

    framing: ("Transfer-Encoding", "chunked") or ("Content-Length", "n").
    """
    h = [("Server", "ZGS"), ("Date", http_date()),
         ("Content-Type", content_type), framing,
         ("Connection", "keep-alive"),
         ("Referrer-Policy", "strict-origin"),
         ("X-Content-Type-Options", "nosniff"),
         ("X-XSS-Protection", "1; mode=block"),
         ("Pragma", "no-cache"), ("Cache-Control", "no-cache"),
         ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
         ("X-Frame-Options", "SAMEORIGIN"),
         ("vary", "accept-encoding")]
    if gzipped:
        h.append(("Content-Encoding", "gzip"))
    h.append(("Strict-Transport-Security", "max-age=63072000"))
    return h


def invalid_token_headers(body_len):
    """The seed 401's header list with a current Date and the right length."""
    out = []
    for k, v in SEED["AUTHENTICATION_FAILURE"].seed_headers:
        if k.lower() == "date":
            v = http_date()
        elif k.lower() == "content-length":
            v = str(body_len)
        out.append((k, v))
    return out


INVALID_TOKEN_BODY = error_body("INVALID_TOKEN", "invalid oauth token")


def html_page(code, text):
    return ("<html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
            "</body></html>" % (code, text, code, text)).encode()


# ---------------------------------------------------------------------------
# Scenario building blocks.  Each returns fn(handler).
# ---------------------------------------------------------------------------

def seed(name):
    def fn(h):
        h.send_seed(name)
    return fn


def json_reply(code, body_fn, gzipped=True, chunked=True):
    def fn(h):
        h.send_body(code, body_fn(), "application/json", gzipped, chunked)
    return fn


def fixture_reply(name):
    return json_reply(200, lambda: fixture(name))


def error_reply(code, err_code, message, details=None):
    body = error_body(err_code, message, details)
    return json_reply(code, lambda: body)


def plain_reply(code, content_type, body):
    def fn(h):
        h.send_body(code, body, content_type, gzipped=False, chunked=False)
    return fn


def invalid_token(h):
    h.send_raw(401, "Unauthorized", invalid_token_headers(len(INVALID_TOKEN_BODY)),
               INVALID_TOKEN_BODY)


def no_content(h):
    h.send_raw(204, "No Content", [("Server", "ZGS"), ("Date", http_date()),
                                   ("Connection", "keep-alive")], b"")


def redirect(h):
    port = h.server.server_address[1]
    loc = "http://127.0.0.2:%d/crm/bulk/v2/write/4150868000005392002" % port
    body = ('<html><body>Moved: <a href="%s">%s</a></body></html>'
            % (loc, loc)).encode()
    h.send_raw(302, "Found", [("Server", "ZGS"), ("Date", http_date()),
                              ("Content-Type", "text/html;charset=UTF-8"),
                              ("Content-Length", str(len(body))),
                              ("Connection", "keep-alive"),
                              ("Location", loc)], body)


def stall_first(h):
    """Send nothing; after FAULT_WAIT close the connection."""
    h.stall(FAULT_WAIT)
    h.cut_response()


def half_body_then_stall(h):
    body = job_body("3000000000000000002")
    h.send_head(200, "OK", zgs_headers("application/json",
                                       ("Content-Length", str(len(body))), False))
    h.write(body[:len(body) // 2])
    h.stall(FAULT_WAIT)
    h.cut_response()


def part_body_then_reset(h):
    body = job_body("3000000000000000003")
    h.send_head(200, "OK", zgs_headers("application/json",
                                       ("Content-Length", str(len(body))), False))
    h.write(body[:len(body) // 3])
    h.reset_connection()


def oversize_chunked(h):
    h.send_head(200, "OK", zgs_headers("application/json",
                                       ("Transfer-Encoding", "chunked"), False))
    if h.head_only:
        return
    for piece in oversize_pieces("3000000000000000004"):
        h.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    h.write(b"0\r\n\r\n")


def oversize_length(h):
    h.send_head(200, "OK", zgs_headers("application/json",
                                       ("Content-Length", str(24 * MIB)), False))
    if h.head_only:
        return
    for piece in oversize_pieces("3000000000000000005"):
        h.write(piece)


def bomb(h):
    h.send_body(200, gzip_bomb(), "application/json", gzipped=True,
                chunked=True, precompressed=True, chunk_size=BIG_CHUNK)


def truncated_gzip(h):
    data = gz(job_body("3000000000000000007"))[:-20]
    h.send_body(200, data, "application/json", gzipped=True, chunked=False,
                precompressed=True)


def drip(h):
    body = job_body("3000000000000000008")
    h.send_head(200, "OK", zgs_headers("application/json",
                                       ("Transfer-Encoding", "chunked"), False))
    if h.head_only:
        return
    deadline = time.monotonic() + FAULT_WAIT
    for i in range(len(body)):
        if SHUTDOWN.is_set() or time.monotonic() >= deadline:
            h.cut_response()                   # body left unfinished
            return
        h.write(b"1\r\n%s\r\n" % body[i:i + 1])
        SHUTDOWN.wait(DRIP_INTERVAL)
    h.write(b"0\r\n\r\n")


def alternate(counter, first):
    """first on the 1st, 3rd, 5th... call since start/reset; seed SUCCESS else."""
    def fn(h):
        n = h.server.state.bump(counter)
        if n % 2 == 1:
            first(h)
        else:
            h.send_seed("SUCCESS RESPONSE")
    return fn


def progressing(job_id):
    """A job that moves on with every request for it since start/reset:
    1st ADDED, 2nd INPROGRESS (1200 of 25000 records), 3rd and later
    COMPLETED (24990 added, 10 skipped), with a download_url."""
    def fn(h):
        n = h.server.state.bump("progress-" + job_id)
        resource = {"type": "data", "module": {"api_name": "Leads", "id": "4150868000000002175"},
                    "field_mappings": [{"api_name": "Last_Name", "index": 0, "format": None,
                                        "find_by": None, "module": None, "default_value": None}]}
        doc = {"id": job_id, "operation": "insert", "created_time": "2026-11-28T10:00:00+00:00",
               "created_by": {"id": "4150868000000225013", "name": "Patricia Boyle"},
               "resource": [resource]}
        if n == 1:
            doc["status"] = "ADDED"
            resource.update(status="INPROGRESS", code="ADDED", file={"status": "INPROGRESS"})
        elif n == 2:
            doc.update(status="IN PROGRESS", character_encoding="UTF-8")
            resource.update(status="IN PROGRESS", code="INPROGRESS",
                            file={"status": "IN PROGRESS", "name": "leads.csv", "added_count": 1200,
                                  "updated_count": 0, "skipped_count": 0, "total_count": 25000})
        else:
            doc.update(status="COMPLETED", character_encoding="UTF-8",
                       result={"download_url": "/v2/crm/6735/bulk-write/%s/%s.zip" % (job_id, job_id)})
            resource.update(status="COMPLETED", code="COMPLETED",
                            file={"status": "COMPLETED", "name": "leads.csv", "added_count": 24990,
                                  "updated_count": 0, "skipped_count": 10, "total_count": 25000})
        h.send_body(200, compact(doc), "application/json", gzipped=True, chunked=True)
    return fn


def delayed_success(h):
    if SHUTDOWN.wait(1.0):
        h.cut_response()
        return
    h.send_seed("SUCCESS RESPONSE")


def invalid_utf8(h):
    h.send_body(200, invalid_utf8_body(), "application/json", gzipped=False,
                chunked=False)


def echo_version(h):
    """A job whose "operation" is the API version segment of the request, so
    a test can see which version the client asked for."""
    version = WRITE_PATH.match(h.path.split("?", 1)[0]).group(1)
    h.send_body(200, compact({"id": "1000000000000000021", "status": "ADDED",
                              "operation": version}),
                "application/json", gzipped=True, chunked=True)


def echo_token(h):
    """A hostile or buggy server that echoes the Authorization header back in
    its error message and details: the client must not repeat it."""
    auth = h.headers.get("Authorization", "")
    token = auth.split(" ", 1)[1] if " " in auth else auth
    h.send_body(400, error_body("INVALID_DATA", "the token %s is not valid here" % token,
                                {"authorization": auth, "token": token}),
                "application/json", gzipped=True, chunked=True)


def fold(text, every, brk):
    """text with brk inserted after every `every` characters."""
    return brk.join(text[i:i + every] for i in range(0, len(text), every))


def secret_forms(secret):
    """The encodings a careless or hostile server may echo a secret back
    in, every one of which zcrm_bulk must redact: as sent; JSON-escaped
    ("/" as "\\/", and every third character as a \\u escape);
    percent-encoded with lower-case and with upper-case hex digits (every
    byte but letters, digits and "-._~"), and every byte percent-encoded;
    folded across line breaks (CR LF and 4 spaces after every 7th
    character; LF and a tab after every 5th)."""
    pct = urllib.parse.quote(secret, safe="")
    return [
        secret,
        secret.replace("/", "\\/"),
        "".join("\\u%04x" % ord(c) if i % 3 == 0 else c for i, c in enumerate(secret)),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), pct),
        pct,
        "".join("%%%02X" % b for b in secret.encode()),
        fold(secret, 7, "\r\n    "),
        fold(secret, 5, "\n\t"),
    ]


def caller_token(h):
    auth = h.headers.get("Authorization", "")
    return auth.split(" ", 1)[1] if " " in auth else auth


def echo_token_forms(h):
    """INVALID_DATA whose message and details echo the caller's token twice
    in each of secret_forms()."""
    forms = secret_forms(caller_token(h))
    h.send_body(400, error_body("INVALID_DATA", "token " + " ; ".join(forms * 2),
                                {"forms": forms, "again": forms}),
                "application/json", gzipped=True, chunked=True)


def echo_token_forms_text(h):
    """A 500 text/plain page (no Zoho error object) echoing the caller's
    token twice in each of secret_forms()."""
    forms = secret_forms(caller_token(h)) * 2
    body = "upstream failed for " + "&".join("t%d=%s" % (i, f) for i, f in enumerate(forms))
    h.send_body(500, body.encode(), "text/plain", gzipped=False, chunked=False)


def token_echo(h):
    """A token endpoint error whose description quotes the refresh token
    40 times over and then each of secret_forms() of the refresh token and
    of the client secret."""
    p = h.token_params()
    rt, secret = p.get("refresh_token", ""), p.get("client_secret", "")
    desc = ("refresh token %s; again %s; client secret %s"
            % (rt * 40, " ".join(secret_forms(rt)), " ".join(secret_forms(secret))))
    token_json({"error": "invalid_scope", "error_description": desc})(h)


def tiny_elements(h):
    """Families 53 and 54: tiny_elements_body(), as json_reply sends a body."""
    _, wire = cached_body(h.job_id, lambda: tiny_elements_body(h.job_id))
    h.send_body(200, wire, "application/json", gzipped=True, chunked=True,
                precompressed=True)


def seed_success_delayed(h):
    """Family 51: after D ms (the id's last 5 digits) the seed SUCCESS replay
    with the requested id.  Ends early, sending nothing, when the client
    goes away or the server stops."""
    if not h.stall(int(h.job_id[-5:]) / 1000.0):
        h.cut_response()
        return
    h.send_seed_reply(seed_success_with_id(h.job_id))


def many_mappings(h):
    """Family 52: N generated field mappings, as json_reply sends a body."""
    _, wire = many_mappings_body(h.job_id)
    h.send_body(200, wire, "application/json", gzipped=True, chunked=True,
                precompressed=True)


def many_resources(h):
    """Family 55: a COMPLETED job with N resources (the id's last 3 digits)."""
    h.send_body(200, compact(many_resources_doc(h.job_id, int(h.job_id[-3:]))),
                "application/json", gzipped=True, chunked=True)


def held(seconds, fn):
    """fn, after `seconds` more (--delay-ms).  Like the fault stalls, the
    wait ends early (nothing sent, response cut) when the client goes away
    or the server stops."""
    def run(h):
        if not h.stall(seconds):
            h.cut_response()
            return
        fn(h)
    return run


SERVICE_UNAVAILABLE = plain_reply(503, "text/plain", b"Service Unavailable")
TOO_MANY_REQUESTS = error_reply(
    429, "TOO_MANY_REQUESTS",
    "The number of API requests per minute has exceeded")


class Scenario:
    """One row of SCENARIOS.  match: None for a row keyed by its job id;
    for a generated family (keyed by a pattern such as 51xxxxxxxxxxxxDDDDD),
    a function job_id -> bool saying which ids the row answers."""

    def __init__(self, name, http_code, what, sqlstate, fn, match=None):
        self.name = name
        self.http = http_code
        self.what = what
        self.sqlstate = sqlstate
        self.fn = fn
        self.match = match


S = Scenario
OK = "- (success)"


# ---------------------------------------------------------------------------
# Wrong JSON types: one generated job per field the parser reads.
#
# Every job 11000000000000000NN (NN = 01, 02, ...) is the base document
# (WRONG_TYPE_BASE_ID) with exactly one value replaced, at the path of row NN
# of WRONG_TYPES.  Paths: object keys joined by ".", array elements as [i].
# --list-wrong-types prints "<job id>\t<path>" per job.
# ---------------------------------------------------------------------------

WRONG_TYPE_BASE_ID = "1100000000000000000"

# (path, wrong value, why).  why None = a value of the wrong JSON type; else
# the value has the right type but is out of range, and why says so.
WRONG_TYPES = [
    ("id", {"id": 1}, None),
    ("status", 3, None),
    ("operation", ["insert"], None),
    ("ignore_empty", "true", None),
    ("character_encoding", True, None),
    ("created_time", 1620716909, None),
    ("created_by", "Patricia Boyle", None),
    ("created_by.id", True, None),
    ("created_by.name", 42, None),
    ("callback", ["https://www.zoho.com/"], None),
    ("callback.url", 42, None),
    ("callback.method", {"method": "post"}, None),
    ("result", "https://download-accl.zoho.com/x.zip", None),
    ("result.download_url", 42, None),
    ("resource", {"type": "data"}, None),
    ("resource[0]", "data", None),
    ("resource[0].type", 1, None),
    ("resource[0].module", 42, None),
    ("resource[0].module.api_name", 42, None),
    ("resource[0].module.id", ["4150868000000002175"], None),
    ("resource[0].status", True, None),
    ("resource[0].code", 200, None),
    ("resource[0].file", ["Fil2.csv"], None),
    ("resource[0].file.name", 2, None),
    ("resource[0].file.status", {"status": "COMPLETED"}, None),
    ("resource[0].file.added_count", "9", None),
    ("resource[0].file.updated_count", False, None),
    ("resource[0].file.skipped_count", [2], None),
    ("resource[0].file.total_count", {"value": 11}, None),
    ("resource[0].field_mappings", {"api_name": "Owner", "index": 2}, None),
    ("resource[0].field_mappings[1]", 3, None),
    ("resource[0].field_mappings[1].api_name", 7, None),
    ("resource[0].field_mappings[1].index", "3", None),
    ("resource[0].field_mappings[1].format", 20210511, None),
    ("resource[0].field_mappings[1].find_by", True, None),
    ("resource[0].field_mappings[1].module", 5, None),
    ("resource[0].field_mappings[1].parent_column_index", "0", None),
    ("resource[0].field_mappings[1].index", 2147483648,
     "a number above the int32 maximum 2147483647"),
    ("resource[0].file.total_count", 1e300,
     "a number above the count maximum 2^53-1"),
]

_PATH_STEP = re.compile(r"(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]")


def path_steps(path):
    """"a.b[1].c" -> ["a", "b", 1, "c"]; ValueError unless well formed."""
    steps, pos = [], 0
    for m in _PATH_STEP.finditer(path):
        if m.start() != pos:
            break
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not steps or not isinstance(steps[0], str):
        raise ValueError("bad path %r" % path)
    return steps


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def wrong_type_job_id(n):
    return "11%017d" % n          # 1100000000000000001, ...


def wrong_type_base():
    """The base document: the v2.1 COMPLETED sample (fixture
    4150868000005350003) with id WRONG_TYPE_BASE_ID and a second field
    mapping in which every mapping key has a value of its right type, so that
    every field the parser reads is present and well typed."""
    obj = json.loads(fixture("4150868000005350003"))
    obj["id"] = WRONG_TYPE_BASE_ID
    obj["resource"][0]["field_mappings"].insert(1, {
        "api_name": "Vendor_Name",
        "index": 3,
        "format": "yyyy-MM-dd",
        "find_by": "id",
        "module": "Vendors",
        "default_value": {"value": "x"},
        "parent_column_index": 0,
    })
    return obj


def wrong_type_doc(n):
    """The base with row n (1-based) of WRONG_TYPES applied."""
    path, value, why = WRONG_TYPES[n - 1]
    doc = wrong_type_base()
    steps = path_steps(path)
    parent = doc
    for step in steps[:-1]:
        parent = parent[step]
    last = steps[-1]
    # Only replace what is there: the document must differ at this path only.
    if isinstance(last, int):
        if not (isinstance(parent, list) and 0 <= last < len(parent)):
            raise KeyError(path)
    elif not (isinstance(parent, dict) and last in parent):
        raise KeyError(path)
    old = parent[last]
    if why is None and json_type(old) == json_type(value):
        raise ValueError("%s: %r has the base value's type" % (path, value))
    parent[last] = value
    return doc


def wrong_type_scenarios():
    base = compact(wrong_type_base())
    out = {WRONG_TYPE_BASE_ID: S(
        "wrong_type_base", "200",
        "base of the 11000000000000000NN family below: the v2.1 COMPLETED "
        "sample plus a 2nd field mapping with every key of its right type "
        '(find_by "id", module "Vendors", format "yyyy-MM-dd", '
        'default_value {"value":"x"}, parent_column_index 0)',
        OK, json_reply(200, lambda: base))}
    for n, (path, value, why) in enumerate(WRONG_TYPES, 1):
        body = compact(wrong_type_doc(n))
        if why is None:
            what = "wrong type: %s = %s (%s)" % (
                path, compact(value).decode(), json_type(value))
        else:
            what = "out of range: %s = %s (%s)" % (
                path, compact(value).decode(), why)
        out[wrong_type_job_id(n)] = S(
            "wrong_type_%02d" % n, "200", what, "22000",
            json_reply(200, lambda body=body: body))
    return out


def list_wrong_types(out=sys.stdout):
    for n, (path, _, _) in enumerate(WRONG_TYPES, 1):
        out.write("%s\t%s\n" % (wrong_type_job_id(n), path))

# ---------------------------------------------------------------------------
# THE TABLE: job id -> scenario.  README.md shows it (--print-table).
# "sqlstate" is what zcrm_bulk is expected to raise (documentation only).
# ---------------------------------------------------------------------------
SCENARIOS = {
    # --- shapes (HTTP 200) ---
    "4150868000005392002": S("seed_success", "200", "seed SUCCESS RESPONSE replayed byte for byte (v2, INPROGRESS, gzip+chunked, 2021 Date)", OK, seed("SUCCESS RESPONSE")),
    "4150868000005350003": S("v21_completed", "200", "v2.1 COMPLETED real sample: module object, counts 9/2/0/11, absolute download_url, UTF-8", OK, fixture_reply("4150868000005350003")),
    "111111000000541958": S("v7_added", "200", "v7 ADDED doc sample (commas repaired): file {status} only, no counts/encoding/result/callback/ignore_empty", OK, fixture_reply("111111000000541958")),
    "1000000000000000001": S("in_progress_spaced", "200", '"IN PROGRESS" at job, resource and file level; code INPROGRESS; counts 1200/0/3/25000; module Contacts object', OK, fixture_reply("1000000000000000001")),
    "1000000000000000002": S("completed_relative_url", "200", "COMPLETED with a relative result.download_url (/v7/crm/org6196138/...)", OK, fixture_reply("1000000000000000002")),
    "1000000000000000003": S("parent_child", "200", "parent/child COMPLETED: Products, Vendors, Price_Books; one child code INPROGRESS with file COMPLETED; parent_column_index, default_value objects, find_by, lookup module, format", OK, fixture_reply("1000000000000000003")),
    "1000000000000000004": S("empty_resource", "200", '"resource": []', OK, fixture_reply("1000000000000000004")),
    "1000000000000000005": S("minimal", "200", 'minimal {"id","status":"ADDED"}, no resource key', OK, fixture_reply("1000000000000000005")),
    "1000000000000000006": S("all_null", "200", "every optional key present as JSON null (job, resource, mapping)", OK, fixture_reply("1000000000000000006")),
    "1000000000000000007": S("failed", "200", "FAILED (illustrative shape, reference 2.3)", OK, fixture_reply("1000000000000000007")),
    "1000000000000000008": S("numeric_small_ids", "200", "ids as JSON numbers below 2^53: id 1000000000000008, created_by.id 42, module.id 5", OK, fixture_reply("1000000000000000008")),
    "1000000000000000009": S("numeric_big_id", "200", 'id as the JSON number 4150868000005392002 (not exact in a double)', "22000", fixture_reply("1000000000000000009")),
    "1000000000000000010": S("ignore_empty_string", "200", 'ignore_empty "yes" (string)', "22000", fixture_reply("1000000000000000010")),
    "1000000000000000011": S("resource_object", "200", 'resource is an object {"type":"data"}', "22000", fixture_reply("1000000000000000011")),
    "1000000000000000012": S("count_string", "200", 'resource[0].file.added_count "9" (string)', "22000", fixture_reply("1000000000000000012")),
    "1000000000000000013": S("top_array", "200", 'top-level array [{"id":"1"}]', "22000", fixture_reply("1000000000000000013")),
    "1000000000000000014": S("top_string", "200", 'top-level string "COMPLETED"', "22000", fixture_reply("1000000000000000014")),
    "1000000000000000015": S("bad_created_time", "200", 'created_time "yesterday"', "22000", fixture_reply("1000000000000000015")),
    "1000000000000000016": S("invalid_utf8", "200", "created_by.name holds raw bytes C3 28 and FF (invalid UTF-8); plain, Content-Length", "22032", invalid_utf8),
    "1000000000000000017": S("count_fraction", "200", "resource[0].file.added_count 9.5", "22000", fixture_reply("1000000000000000017")),
    "1000000000000000018": S("nul_escape", "200", 'created_by.name "Pat\\u0000ricia"', "22P05", fixture_reply("1000000000000000018")),
    "1000000000000000019": S("multibyte_utf8", "200", 'created_by.name "Zoë Ōkubo 日本 😀", file name "données.csv"', OK, fixture_reply("1000000000000000019")),
    "1000000000000000020": S("v2_module_string", "200", 'v2 shape: module "Leads" (string), 3 mappings incl. default_value {"value":"Web"} and format', OK, fixture_reply("1000000000000000020")),
    "1000000000000000021": S("echo_version", "200", 'minimal ADDED job whose "operation" is the API version segment requested (tests zcrm_bulk.api_version)', OK, echo_version),
    "1000000000000000022": S("top_number", "200", "top-level JSON number 42", "22000", json_reply(200, lambda: b"42")),
    "1000000000000000023": S("top_null", "200", "top-level JSON null", "22000", json_reply(200, lambda: b"null")),
    "1000000000000000024": S("top_true", "200", "top-level JSON true", "22000", json_reply(200, lambda: b"true")),
    # --- one wrong JSON type per field (generated, see WRONG_TYPES) ---
    **wrong_type_scenarios(),
    # --- errors ---
    "2000000000000000497": S("echo_token_forms", "400", "INVALID_DATA whose message and details echo the caller's token twice in each of the forms of `secret_forms()`: as sent, JSON-escaped (`\\/`, `\\uXXXX`), percent-encoded (lower- and upper-case hex, every byte), folded across CR LF or LF plus indentation", "22023, token redacted in every form", echo_token_forms),
    "2000000000000000498": S("echo_token_forms_text", "500", "text/plain page echoing the caller's token twice in each of those forms", "58000, token redacted in every form", echo_token_forms_text),
    "2000000000000000499": S("echo_token", "400", "INVALID_DATA whose message and details echo the Authorization header back (hostile server)", "22023, token redacted", echo_token),
    "2000000000000000400": S("authorization_failed", "400", "AUTHORIZATION_FAILED", "42501", error_reply(400, "AUTHORIZATION_FAILED", "User does not have sufficient privilege to perform this action")),
    "2000000000000000401": S("oauth_scope_mismatch", "401", "OAUTH_SCOPE_MISMATCH", "42501", error_reply(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")),
    "2000000000000000402": S("invalid_token", "401", "INVALID_TOKEN (seed 401 headers, Content-Length)", "28000", invalid_token),
    "2000000000000000403": S("no_permission", "403", 'NO_PERMISSION, details {"permissions":["Crm_Implied_Api_Access"]}', "42501", error_reply(403, "NO_PERMISSION", "permission denied", {"permissions": ["Crm_Implied_Api_Access"]})),
    "2000000000000000404": S("resource_not_found_404", "404", "RESOURCE_NOT_FOUND with HTTP 404 (as the v7 docs say)", "P0002", error_reply(404, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.")),
    "2000000000000000405": S("seed_invalid_url_pattern", "404", "seed INVALID_URL_PATTERN replayed", "22023", seed("INVALID_URL_PATTERN")),
    "2000000000000000406": S("seed_invalid_request_method", "400", "seed INVALID_REQUEST_METHOD replayed", "22023", seed("INVALID_REQUEST_METHOD")),
    "2000000000000000407": S("seed_authentication_failure", "401", "seed AUTHENTICATION_FAILURE replayed", "28000", seed("AUTHENTICATION_FAILURE")),
    "2000000000000000408": S("unknown_code", "400", 'unknown code SOMETHING_NEW, details {"api_name":"x"}', "22023", error_reply(400, "SOMETHING_NEW", "a code zcrm_bulk has never seen", {"api_name": "x"})),
    "2000000000000000409": S("teapot_no_code", "418", 'JSON {"status":"error","message":"no code here"}, no code key', "22023", json_reply(418, lambda: compact({"status": "error", "message": "no code here"}))),
    "2000000000000000410": S("unauthorized_html", "401", "HTML body, no code", "28000", plain_reply(401, "text/html;charset=UTF-8", html_page(401, "Unauthorized"))),
    "2000000000000000411": S("forbidden_html", "403", "HTML body", "42501", plain_reply(403, "text/html;charset=UTF-8", html_page(403, "Forbidden"))),
    "2000000000000000429": S("too_many_requests", "429", "TOO_MANY_REQUESTS JSON", "53400", TOO_MANY_REQUESTS),
    "2000000000000000430": S("too_many_requests_text", "429", 'text/plain "Too Many Requests"', "53400", plain_reply(429, "text/plain", b"Too Many Requests")),
    "2000000000000000500": S("internal_error", "500", "INTERNAL_ERROR JSON", "58000", error_reply(500, "INTERNAL_ERROR", "Internal Server Error")),
    "2000000000000000501": S("internal_error_html", "500", "text/html page", "58000", plain_reply(500, "text/html", b"<html><body><h1>500 Internal Server Error</h1></body></html>")),
    "2000000000000000502": S("bad_gateway_empty", "502", "empty body, Content-Length: 0", "58000", plain_reply(502, "text/html", b"")),
    "2000000000000000503": S("service_unavailable", "503", 'text/plain "Service Unavailable"', "58000", SERVICE_UNAVAILABLE),
    "2000000000000000200": S("ok_with_error_body", "200", "INTERNAL_ERROR error object with HTTP 200", "58000", error_reply(200, "INTERNAL_ERROR", "Internal Server Error")),
    "2000000000000000201": S("ok_invalid_json", "200", 'truncated JSON {"status": "COMPLETED", "id": ', "22032", json_reply(200, lambda: b'{"status": "COMPLETED", "id": ')),
    "2000000000000000202": S("ok_empty", "200", "empty body, Content-Length: 0", "22032", plain_reply(200, "application/json", b"")),
    "2000000000000000204": S("no_content", "204", "204 No Content, no body", "P0002", no_content),
    "2000000000000000301": S("redirect", "302", "Location: http://127.0.0.2:<port>/crm/bulk/v2/write/4150868000005392002 (another host; nothing listens there)", "08P01", redirect),
    # --- faults ---
    "3000000000000000001": S("stall", "-", "accepts, sends nothing for 60 s, then closes", "08006", stall_first),
    "3000000000000000002": S("half_body_stall", "200", "headers (Content-Length of the full body) + half the body, then 60 s stall, then close", "08006", half_body_then_stall),
    "3000000000000000003": S("reset", "200", "headers with Content-Length + a third of the body, then RST (SO_LINGER 0)", "08006", part_body_then_reset),
    "3000000000000000004": S("oversize_chunked", "200", "24 MiB valid JSON, chunked (64 KiB chunks), not gzip", "54000", oversize_chunked),
    "3000000000000000005": S("oversize_length", "200", "24 MiB valid JSON with an honest Content-Length, not gzip", "54000", oversize_length),
    "3000000000000000006": S("gzip_bomb", "200", "gzip (chunked) of a 64 MiB JSON object that is almost all spaces (~65 KiB on the wire)", "54000", bomb),
    "3000000000000000007": S("truncated_gzip", "200", "gzip body missing its last 20 bytes, Content-Length = truncated length (libcurl 7.88 hands the cut text on without an error)", "22032", truncated_gzip),
    "3000000000000000008": S("drip", "200", "chunked, one body byte every 0.2 s for at most 60 s (body never finishes), not gzip", "08006", drip),
    "3000000000000000009": S("deep_nesting", "200", "JSON nested 100,000 arrays deep", "22032", json_reply(200, deep_body)),
    "3000000000000000010": S("flaky_503", "503/200", "odd calls since start/reset: 503 text/plain; even calls: seed SUCCESS replay", "58000 then -", alternate("3000000000000000010", SERVICE_UNAVAILABLE)),
    "3000000000000000011": S("flaky_429", "429/200", "odd calls: 429 TOO_MANY_REQUESTS JSON; even calls: seed SUCCESS replay", "53400 then -", alternate("3000000000000000011", TOO_MANY_REQUESTS)),
    "4000000000000000001": S("progressing", "200", "ADDED on the 1st request since start/reset, IN PROGRESS (1200 of 25000) on the 2nd, COMPLETED (24990 added, 10 skipped) from the 3rd on", OK, progressing("4000000000000000001")),
    "4000000000000000002": S("progressing_2", "200", "the same progression, counted separately", OK, progressing("4000000000000000002")),
    "3000000000000000012": S("slow_success", "200", "seed SUCCESS replay after a 1.0 s delay", OK, delayed_success),
    "3000000000000000013": S("slow_success_2", "200", "the same (several slow jobs, for overlapping pollers)", OK, delayed_success),
    "3000000000000000014": S("slow_success_3", "200", "the same", OK, delayed_success),
    "3000000000000000015": S("slow_success_4", "200", "the same", OK, delayed_success),
    "3000000000000000016": S("slow_success_5", "200", "the same", OK, delayed_success),
    "3000000000000000017": S("slow_success_6", "200", "the same", OK, delayed_success),
    # --- generated families (x = any digit; see the module docstring) ---
    "51xxxxxxxxxxxxDDDDD": S("seed_success_delayed", "200", "after D ms (D = last 5 digits, 0 ... 99999; 5100000000000000200 = 200 ms; on top of `--delay-ms`): the seed SUCCESS replay (status line, headers, gzip+chunked) whose body differs only in the top-level id, the requested one", OK, seed_success_delayed, match=lambda j: len(j) == 19 and j.startswith("51")),
    "52xxxxxxxxxxxNNNNNN": S("many_mappings", "200", 'N = last 6 digits, 0 ... %d (above: answered as an unknown job id): the seed SUCCESS document with the requested id and one resource (the seed\'s first) whose field_mappings has N entries, entry i `{"api_name":"Field_<i>","index":i}` plus `"default_value":{"value":"v<i>"}` if i %% 10 = 0, `"format":"MM/dd/yyyy"` if i %% 7 = 0, `"find_by":"id","module":"Accounts"` if i %% 13 = 0; gzip+chunked' % MANY_MAPPINGS_MAX, OK, many_mappings, match=lambda j: len(j) == 19 and j.startswith("52") and many_mappings_count(j) is not None),
    "55xxxxxxxxxxxxxxNNN": S("many_resources", "200", 'N = last 3 digits, 0 ... %d: the v2.1 COMPLETED sample with the requested id and N resources, resource i the sample\'s with module `{"id": "<4150868000000002175 + i>", "api_name": "Module_<i>"}`, file name `File_<i>.csv`, counts added i + 1, updated 0, skipped 0, total i + 1 (80 or more resources make a NOTIFY payload of over 8000 bytes); gzip+chunked' % MANY_RESOURCES_MAX, OK, many_resources, match=lambda j: len(j) == 19 and j.startswith("55")),
    "53xxxxxxxxxxxxKKKKK": S("tiny_resources", "200", 'K = last 5 digits, 0 ... %d (above: answered as an unknown job id): a COMPLETED job of exactly K KiB whose "resource" array holds nothing but empty objects `{}` (K = 15360: 15 MiB, 5.2 million resources), padded with spaces; gzip+chunked' % TINY_MAX_KIB, "54000 (above zcrm_bulk.max_json_values)", tiny_elements, match=lambda j: len(j) == 19 and j.startswith("53") and tiny_size(j) is not None),
    "54xxxxxxxxxxxxKKKKK": S("tiny_mappings", "200", 'the same, but one resource whose "field_mappings" holds nothing but `{}`', "54000 (above zcrm_bulk.max_json_values)", tiny_elements, match=lambda j: len(j) == 19 and j.startswith("54") and tiny_size(j) is not None),
}

FAMILIES = [s for s in SCENARIOS.values() if s.match is not None]


def scenario_of(job_id):
    """The Scenario answering job_id (an exact row first, then the generated
    families), or None for an unknown job."""
    s = SCENARIOS.get(job_id)
    if s is not None and s.match is None:
        return s
    for s in FAMILIES:
        if s.match(job_id):
            return s
    return None

# Routing outcomes that do not depend on the job id (for the README table).
ROUTING_ROWS = [
    ("(no Authorization header)", "401", "seed AUTHENTICATION_FAILURE replayed", "28000"),
    ("(Authorization not `Zoho-oauthtoken <accepted token>`)", "401", "INVALID_TOKEN, seed 401 headers, Content-Length", "28000"),
    ("(any job id not below)", "400", "seed RESOURCE_NOT_FOUND replayed (gzip+chunked)", "P0002"),
    ("(any other path, e.g. `/crm/bulk/v2/writ/...`)", "404", "seed INVALID_URL_PATTERN replayed", "22023"),
    ("(method other than GET on the write path)", "400", "seed INVALID_REQUEST_METHOD replayed", "22023"),
    ("(nothing listening)", "-", "connect failure", "08001"),
]


def print_table(out=sys.stdout):
    out.write("| job id | HTTP | what | SQLSTATE expected |\n")
    out.write("|---|---|---|---|\n")
    for a, b, c, d in ROUTING_ROWS:
        out.write("| %s | %s | %s | %s |\n" % (a, b, c, d))
    for job_id, s in SCENARIOS.items():
        what = s.what.replace("|", "\\|")
        out.write("| %s | %s | %s | %s |\n" % (job_id, s.http, what, s.sqlstate))


# ---------------------------------------------------------------------------
# OAuth token endpoint (Zoho Accounts): POST /oauth/v2/token
#
# grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..,
# as an application/x-www-form-urlencoded body and/or the query string (a
# body field wins over the same query field).  The refresh token's prefix
# chooses the reply (TOKEN_SCENARIOS, first match wins), as job ids choose
# the API scenarios.  Errors come with HTTP 200, as Zoho's do.
# ---------------------------------------------------------------------------

TOKEN_JSON = "application/json;charset=UTF-8"


def token_json(obj):
    def fn(h):
        h.send_body(200, compact(obj), TOKEN_JSON, gzipped=False, chunked=False)
    return fn


def grant(expires_in=DEFAULT_TOKEN_LIFETIME, form="normal", delay=0.0,
          other_dc=False):
    """Issue an access token living `expires_in` seconds on the API routes.

    form: "normal" -> "expires_in": expires_in; "sec" -> "expires_in_sec":
    expires_in, "expires_in": expires_in * 1000 (milliseconds); "noexp" ->
    no expires_in key at all (the token lives DEFAULT_TOKEN_LIFETIME)."""
    def fn(h):
        if delay and SHUTDOWN.wait(delay):
            h.cut_response()
            return
        st = h.server.state
        token = st.issue_token(expires_in)
        body = {"access_token": token}
        if form == "sec":
            body["expires_in_sec"] = expires_in
        body["api_domain"] = st.other_api_domain if other_dc else st.api_domain
        body["token_type"] = "Bearer"
        if form == "sec":
            body["expires_in"] = expires_in * 1000
        elif form == "normal":
            body["expires_in"] = expires_in
        h.send_body(200, compact(body), TOKEN_JSON, gzipped=False, chunked=False)
    return fn


ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. "
                         "Please try again after some time.",
    "error": "Access Denied", "status": "failure"}

ACCESS_DENIED_HTML = (
    b"<!DOCTYPE html><html><head><meta charset=\"UTF-8\"><title>Access Denied"
    b"</title></head><body><h1>Access Denied</h1><p>You have made too many "
    b"requests continuously. Please try again after some time.</p></body>"
    b"</html>")


def token_method_not_allowed(h):
    body = compact({"error": "invalid_request",
                    "error_description": "only POST is allowed"})
    headers = zgs_headers(TOKEN_JSON, ("Content-Length", str(len(body))), False)
    headers.append(("Allow", "POST"))
    h.send_raw(405, reason_of(405), headers, body)


class TokenScenario:
    def __init__(self, prefix, name, http_code, what, lifetime, fn):
        self.prefix = prefix            # refresh tokens starting with this
        self.name = name                # "scenario" in the request log
        self.http = http_code
        self.what = what
        self.lifetime = lifetime        # of the issued token on the API ("-": none)
        self.fn = fn


T = TokenScenario
# Refresh-token prefix -> reply.  Checked in order, first match wins, so
# "1000.rt." (normal) comes last.  --print-token-table prints it.
TOKEN_SCENARIOS = [
    T("1000.rt.short.", "token_short", "200", 'as normal, but "expires_in": 2', "2 s", grant(2)),
    T("1000.rt.slow.", "token_slow", "200", "as normal, after a 1.0 s delay (to make concurrent refreshes overlap; counted on arrival)", "3600 s", grant(delay=1.0)),
    T("1000.rt.sec.", "token_sec", "200", 'as normal, but `"expires_in_sec":3600` and `"expires_in":3600000` (milliseconds when expires_in_sec is present)', "3600 s", grant(form="sec")),
    T("1000.rt.noexp.", "token_noexp", "200", "as normal, but no expires_in key", "3600 s", grant(form="noexp")),
    T("1000.rt.otherdc.", "token_otherdc", "200", 'as normal, but "api_domain" is `--other-api-domain` (default `%s`)' % DEFAULT_OTHER_API_DOMAIN, "3600 s (on this server too)", grant(other_dc=True)),
    T("1000.rt.revoked", "token_revoked", "200", '`{"error":"invalid_code"}` (a revoked or invalid refresh token)', "-", token_json({"error": "invalid_code"})),
    T("1000.rt.denied.", "token_denied", "200", '`{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}` (the 10-per-10-minutes limit)', "-", token_json(ACCESS_DENIED)),
    T("1000.rt.html.", "token_html", "200", '`text/html;charset=UTF-8` page whose body contains "Access Denied"', "-", plain_reply(200, "text/html;charset=UTF-8", ACCESS_DENIED_HTML)),
    T("1000.rt.500.", "token_500", "500", "`text/html;charset=UTF-8` error page", "-", plain_reply(500, "text/html;charset=UTF-8", html_page(500, "Internal Server Error"))),
    T("1000.rt.echo.", "token_echo", "200", '`{"error":"invalid_scope","error_description":...}` whose description quotes the refresh token 40 times, then each of `secret_forms()` of the refresh token and of the client secret', "-", token_echo),
    T("1000.rt.badclient.", "token_badclient", "200", '`{"error":"invalid_client"}`', "-", token_json({"error": "invalid_client"})),
    T("1000.rt.", "token_normal", "200", 'normal: `{"access_token":"1000.<32 hex>.<32 hex>","api_domain":"<api domain>","token_type":"Bearer","expires_in":3600}`; api domain = `--api-domain`, else this server\'s own `http[s]://host:port`', "3600 s", grant()),
]

# Outcomes decided before the refresh token's prefix, in this order.
TOKEN_INVALID_REQUEST = token_json({"error": "invalid_request"})
TOKEN_INVALID_CLIENT = token_json({"error": "invalid_client"})
TOKEN_INVALID_CODE = token_json({"error": "invalid_code"})
TOKEN_REQUEST_ROWS = [
    ("(method other than POST)", "405", '`Allow: POST`, `{"error":"invalid_request","error_description":"only POST is allowed"}` (HEAD: no body)', "-"),
    ("(grant_type or refresh_token missing or empty, or grant_type not `refresh_token`)", "200", '`{"error":"invalid_request"}`', "-"),
    ("(client_id or client_secret missing or empty, or client_secret `%s`)" % WRONG_SECRET, "200", '`{"error":"invalid_client"}`', "-"),
]
TOKEN_OTHER_ROW = ("(any other refresh token)", "200", '`{"error":"invalid_code"}`', "-")


def token_scenario_of(refresh_token):
    """The TokenScenario whose prefix the refresh token starts with, or None."""
    for sc in TOKEN_SCENARIOS:
        if refresh_token.startswith(sc.prefix):
            return sc
    return None


def refresh_token_sha(refresh_token):
    """What the log and /__admin/token-stats use instead of the refresh
    token: the first 12 hex digits of SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()[:REFRESH_SHA_LEN]


def print_token_table(out=sys.stdout):
    out.write("| refresh_token | HTTP | reply | issued token lives on the API |\n")
    out.write("|---|---|---|---|\n")
    rows = list(TOKEN_REQUEST_ROWS)
    for sc in TOKEN_SCENARIOS:
        label = "`%s<anything%s>`" % (sc.prefix, " else" if sc.name == "token_normal" else "")
        rows.append((label, sc.http, sc.what, sc.lifetime))
    rows.append(TOKEN_OTHER_ROW)
    for a, b, c, d in rows:
        out.write("| %s | %s | %s | %s |\n" % (a, b, c.replace("|", "\\|"), d))


# ---------------------------------------------------------------------------
# Server state (connections, request log, counters)
# ---------------------------------------------------------------------------

def utc_now():
    return (datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"))


class State:
    """Connections, the request log, the alternation counters, and the
    access tokens issued by /oauth/v2/token with their refresh counts.

    Request log: log() appends the entry when the request is routed (so a
    stalled request is visible at once) with "bytes_sent", "complete" and
    "error" null; finish() fills them in place when the response has ended.
    The --log file gets one line per event: {"event": "start", <entry>}
    when the request is routed, {"event": "end", ...} when it ends.

    In flight: log() counts the request in (`flying`, and raises
    `max_in_flight` if need be); land() counts it out, once, whoever calls it
    first: Handler.write just before it hands the kernel the last byte of a
    response (so a client that has the whole response, and sends its next
    request on another connection at once, is never seen overlapping it),
    or finish(), which Handler.run_scenario calls in a finally, so every
    logged request is counted out however its response ends.  All under the
    lock.
    """

    def __init__(self, tokens, log_path):
        self.tokens = list(tokens)
        self.lock = threading.Lock()
        self.serial = 0              # connection serial numbers (never reset)
        self.request_serial = 0      # request serial numbers (never reset)
        self.connections = 0         # accepted since start/reset
        self.tls_failures = 0        # failed TLS handshakes since start/reset
        self.requests = []
        self.lifecycle = lifecycle.Lifecycle()
        self.counters = {}
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        # OAuth: access token -> time.monotonic() at which it expires;
        # refresh_token_sha -> token requests; all token requests; tokens
        # issued.  Since start/reset.
        self.issued = {}
        self.refreshes = {}
        self.token_requests = 0
        self.issued_count = 0
        self.api_domain = None           # set by main() once listening
        self.other_api_domain = DEFAULT_OTHER_API_DOMAIN
        self.delay = 0.0                 # --delay-ms, in seconds (set by main())
        # "request" serials of the logged requests whose response has not
        # ended (in_flight = its size); the highest in_flight since start/reset
        self.flying = set()
        self.max_in_flight = 0

    def new_connection(self):
        with self.lock:
            self.serial += 1
            self.connections += 1
            return self.serial

    def bump(self, name):
        with self.lock:
            n = self.counters.get(name, 0) + 1
            self.counters[name] = n
            return n

    def tls_failure(self):
        with self.lock:
            self.tls_failures += 1

    def reset(self):
        """Forget the request log, the alternation counters, the counts,
        the issued access tokens and the refresh counts (serial numbers keep
        increasing; the --log file is kept).  max_in_flight starts again
        from the requests in flight now (in_flight itself is live)."""
        with self.lock:
            self.max_in_flight = len(self.flying)
            self.connections = 0
            self.tls_failures = 0
            self.requests = []
            self.lifecycle.reset()
            self.counters = {}
            self.issued = {}
            self.refreshes = {}
            self.token_requests = 0
            self.issued_count = 0

    # -- OAuth --------------------------------------------------------------

    def issue_token(self, lifetime):
        """A new access token, accepted by the API routes for `lifetime`
        seconds (or until revoke_tokens/reset)."""
        token = "1000.%s.%s" % (secrets.token_hex(16), secrets.token_hex(16))
        with self.lock:
            now = time.monotonic()
            # drop the expired ones, so that the dict does not grow forever
            for t in [t for t, exp in self.issued.items() if exp <= now]:
                del self.issued[t]
            self.issued[token] = now + lifetime
            self.issued_count += 1
        return token

    def token_valid(self, token):
        """An issued access token, neither expired nor revoked."""
        with self.lock:
            exp = self.issued.get(token)
            return exp is not None and time.monotonic() < exp

    def revoke_tokens(self):
        """Invalidate every issued access token; returns how many were
        still valid."""
        with self.lock:
            now = time.monotonic()
            n = sum(1 for exp in self.issued.values() if exp > now)
            self.issued = {}
            return n

    def count_token_request(self, sha):
        """One request to the token endpoint; sha: its refresh_token_sha, or
        None when it carried no refresh token."""
        with self.lock:
            self.token_requests += 1
            if sha is not None:
                self.refreshes[sha] = self.refreshes.get(sha, 0) + 1

    def token_stats(self):
        with self.lock:
            now = time.monotonic()
            return {"refreshes": dict(self.refreshes),
                    "total": self.token_requests,
                    "issued": self.issued_count,
                    "active": sum(1 for exp in self.issued.values() if exp > now)}

    def _write_line(self, obj):
        if self.log_file:
            self.log_file.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self.log_file.flush()

    def log(self, entry):
        """Append a request entry and count it in flight; returns it (with
        its "request" serial).  The caller must hand it to finish()."""
        with self.lock:
            self.request_serial += 1
            entry["request"] = self.request_serial
            entry.update(bytes_sent=None, complete=None, error=None)
            self.requests.append(entry)
            self._write_line(dict({"event": "start"}, **entry))
            # counted last: had the line above failed, nobody would call finish()
            self.flying.add(entry["request"])
            self.max_in_flight = max(self.max_in_flight, len(self.flying))
        return entry

    def land(self, entry):
        """Count the request of `entry` out of in_flight (its response has
        ended, or is about to: see the class comment).  Idempotent."""
        with self.lock:
            self.flying.discard(entry["request"])

    def finish(self, entry, bytes_sent, complete, error):
        """The response of `entry` has ended: record what went out.

        bytes_sent: message-body bytes the kernel accepted (after gzip and
        chunked framing; status line and headers not counted).  complete:
        the whole response was written (false when the scenario cut it short
        on purpose or a write failed).  error: the exception class that ended
        it (BrokenPipeError, ConnectionResetError, TimeoutError, ...) or None.
        """
        with self.lock:
            self.flying.discard(entry["request"])   # first: whatever fails below
            entry.update(bytes_sent=bytes_sent, complete=complete, error=error)
            self._write_line({
                "event": "end", "time": utc_now(), "kind": entry["kind"],
                "request": entry["request"],
                "connection": entry["connection"], "job_id": entry["job_id"],
                "scenario": entry["scenario"], "bytes_sent": bytes_sent,
                "complete": complete, "error": error})

    def snapshot(self):
        with self.lock:
            return [dict(e) for e in self.requests]

    def stats(self):
        with self.lock:
            return {"connections": self.connections,
                    "requests": len(self.requests),
                    "tls_handshake_failures": self.tls_failures,
                    "in_flight": len(self.flying),
                    "max_in_flight": self.max_in_flight}

    def close(self):
        with self.lock:
            if self.log_file:
                self.log_file.close()
                self.log_file = None


# ---------------------------------------------------------------------------
# Request handler
# ---------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300                       # idle keep-alive connections
    server_version = "ZGS"
    sys_version = ""

    # -- plumbing -----------------------------------------------------------

    # Write each response as soon as it is produced: with Nagle's algorithm
    # on, a reply written in pieces waits for the client's delayed ACK.
    disable_nagle_algorithm = True

    # Per response: body bytes written, whether the scenario cut it short,
    # its request-log entry (None outside run_scenario), and the job id of
    # the path (None when it is not the job-details path).
    bytes_sent = 0
    cut = False
    entry = None
    job_id = None

    def setup(self):
        super().setup()
        self.conn_serial = self.server.take_serial(self.request)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("zoho_mock: %s - %s\n"
                             % (self.address_string(), fmt % args))

    def handle_one_request(self):
        """As in BaseHTTPRequestHandler, but every method goes to dispatch()."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self.head_only = self.command == "HEAD"
            self.drain_request_body()
            if getattr(self, "client_gone", False):
                return
            self.dispatch()
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True

    def send_error(self, code, message=None, explain=None):
        """Malformed requests only (never a seed replay).  Raw, then close."""
        self.close_connection = True
        body = error_body("BAD_REQUEST" if code < 500 else "INTERNAL_ERROR",
                          message or reason_of(code))
        try:
            self.send_raw(code, reason_of(code),
                          [("Server", "ZGS"), ("Date", http_date()),
                           ("Content-Type", "application/json"),
                           ("Content-Length", str(len(body))),
                           ("Connection", "close")], body)
        except OSError:
            pass

    def drain_request_body(self):
        """Read the request body so that keep-alive stays in step; keep it in
        self.request_body (the token endpoint reads its form fields there).
        A body that is malformed or above MAX_REQUEST_BODY is dropped
        (request_body None) and the connection closed after the answer."""
        self.request_body = b""
        limit = (lifecycle.MAX_UPLOAD_BODY
                 if lifecycle.UPLOAD_PATH.match(self.path.split("?", 1)[0]) else MAX_REQUEST_BODY)
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        cl = self.headers.get("Content-Length")
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.request_body = None
                    self.close_connection = True
                    return
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    self.request_body = bytes(out)
                    return
                if len(out) + size > limit:
                    self.request_body = None
                    self.close_connection = True
                    return
                out += self.rfile.read(size + 2)[:size]
        elif cl is not None:
            try:
                n = int(cl)
            except ValueError:
                self.request_body = None
                self.close_connection = True
                return
            if n > limit:
                self.request_body = None
                self.close_connection = True
                return
            if n > 0 and limit == lifecycle.MAX_UPLOAD_BODY:
                self.request_body = lifecycle.read_upload_body(self, n)
                if self.request_body is None:
                    self.close_connection = True
                    self.client_gone = True
            elif n > 0:
                self.request_body = self.rfile.read(n)

    # -- writing ------------------------------------------------------------

    def write(self, data, body=True, last=False):
        """Send all of data, counting body bytes as the kernel takes them,
        so that bytes_sent is exact when the client goes away mid-write
        (the OSError is raised on; handle_one_request ends the connection).
        The socket is unbuffered (wbufsize 0), so nothing hides in wfile.

        last: data ends the response.  Its final byte is sent on its own,
        after the request has been counted out of in_flight (State.land):
        the client cannot have the whole response before that."""
        view = memoryview(data)
        hold_back = last and self.entry is not None     # not for admin replies
        try:
            while view:
                if hold_back and len(view) == 1:
                    self.server.state.land(self.entry)
                n = self.connection.send(view[:-1] if hold_back and len(view) > 1
                                         else view)
                if body:
                    self.bytes_sent += n
                view = view[n:]
        except OSError:
            self.close_connection = True
            raise

    def cut_response(self):
        """The scenario leaves its response unfinished and closes."""
        self.cut = True
        self.close_connection = True

    def send_head(self, code, reason, headers, last=False):
        out = ["HTTP/1.1 %d %s\r\n" % (code, reason)]
        out += ["%s: %s\r\n" % (k, v) for k, v in headers]
        out.append("\r\n")
        self.write("".join(out).encode("latin-1"), body=False, last=last)

    def send_raw(self, code, reason, headers, body):
        """Status line + headers + body bytes exactly as given."""
        with_body = bool(body) and not getattr(self, "head_only", False)
        self.send_head(code, reason, headers, last=not with_body)
        if with_body:
            self.write(body, last=True)

    def send_chunked(self, data, size=SMALL_CHUNK):
        if getattr(self, "head_only", False):
            return
        out = bytearray()
        for i in range(0, len(data), size):
            piece = data[i:i + size]
            out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        out += b"0\r\n\r\n"
        self.write(bytes(out), last=True)

    def send_body(self, code, body, content_type, gzipped=True, chunked=True,
                  precompressed=False, chunk_size=SMALL_CHUNK):
        wire = gz(body) if gzipped and not precompressed else body
        framing = (("Transfer-Encoding", "chunked") if chunked
                   else ("Content-Length", str(len(wire))))
        headers = zgs_headers(content_type, framing, gzipped)
        if chunked:
            self.send_head(code, reason_of(code), headers)
            self.send_chunked(wire, chunk_size)
        else:
            self.send_raw(code, reason_of(code), headers, wire)

    def send_seed(self, name):
        self.send_seed_reply(SEED[name])

    def send_seed_reply(self, s):
        """A SeedReply: its status line, header list and wire body."""
        if s.chunked:
            self.send_head(s.code, s.reason, s.headers)
            self.send_chunked(s.wire_body)
        else:
            self.send_raw(s.code, s.reason, s.headers, s.wire_body)

    def send_json_plain(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_raw(code, reason_of(code),
                      [("Content-Type", "application/json"),
                       ("Content-Length", str(len(body))),
                       ("Connection", "keep-alive")], body)

    # -- faults -------------------------------------------------------------

    def stall(self, seconds):
        """Wait up to `seconds`; end early if the peer closes or on shutdown.

        Returns True when the whole time passed.
        """
        deadline = time.monotonic() + seconds
        sock = self.connection
        while not SHUTDOWN.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            try:
                r, _, _ = select.select([sock], [], [], min(0.2, left))
                # socket.socket.recv: on a TLS connection, peek at the raw
                # TCP stream (SSLSocket.recv refuses flags).
                if r:
                    if not socket.socket.recv(sock, 1, socket.MSG_PEEK):
                        return False              # peer closed
                    SHUTDOWN.wait(min(0.2, left))  # data pending: don't spin
            except (OSError, ValueError):
                return False
        return False

    def reset_connection(self):
        """Close with SO_LINGER {on, 0}: the peer gets an RST."""
        self.cut_response()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()           # drop makefile's reference first
            self.connection.close()      # so that this really closes -> RST
        except OSError:
            pass

    # -- routing ------------------------------------------------------------

    def auth_state(self):
        """ok: exactly one Authorization header, `Zoho-oauthtoken <t>` with t
        a --token or an access token issued by /oauth/v2/token that has
        neither expired nor been revoked."""
        values = self.headers.get_all("Authorization") or []
        if not values:
            return "missing"
        if len(values) == 1:
            state = self.server.state
            for t in state.tokens:
                if values[0] == "Zoho-oauthtoken " + t:
                    return "ok"
            prefix = "Zoho-oauthtoken "
            if (values[0].startswith(prefix)
                    and state.token_valid(values[0][len(prefix):])):
                return "ok"
        return "bad"

    def log_request_entry(self, path, job_id, version, auth, scenario):
        return self.server.state.log({
            "time": utc_now(),
            "kind": "api",
            "method": self.command,
            "path": path,
            "job_id": job_id,
            "version": version,
            "auth": auth,
            "connection": self.conn_serial,
            "scenario": scenario,
        })

    def dispatch(self):
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith("/__admin/"):
            return self.admin(path)

        if path == TOKEN_PATH:
            return self.token_endpoint()

        # The path is logged without its query string; tokens are masked in
        # case a client put one into the path.
        safe_path = path
        for t in self.server.state.tokens:
            if t:
                safe_path = safe_path.replace(t, "<redacted>")
        safe_path = TOKEN_SHAPES.sub("<redacted>", safe_path)
        auth = self.auth_state()
        lc = self.server.state.lifecycle
        lc_path = lifecycle.lifecycle_path(path)
        if lc_path and lifecycle.handle(
                self, path, auth,
                lambda name, job: self.log_request_entry(safe_path, job, None, auth, name)):
            return
        m = WRITE_PATH.match(path)
        version, job_id = (m.group(1), m.group(2)) if m else (None, None)
        self.job_id = job_id
        sc = scenario_of(job_id) if m else None

        if not m and not lc_path:
            name, fn = "INVALID_URL_PATTERN", seed("INVALID_URL_PATTERN")
        elif self.command != (lifecycle.method_of(path) if lc_path else "GET"):
            name, fn = "INVALID_REQUEST_METHOD", seed("INVALID_REQUEST_METHOD")
        elif auth == "missing":
            name, fn = "AUTHENTICATION_FAILURE", seed("AUTHENTICATION_FAILURE")
        elif auth == "bad":
            name, fn = "INVALID_TOKEN", invalid_token
        elif job_id in lc.jobs:
            host, port = self.server.server_address[:2]
            base = "%s://%s:%d" % ("https" if self.server.ssl_context else "http",
                                   "[%s]" % host if ":" in host else host, port)
            name, fn = "lifecycle_job", lifecycle.call_delayed(
                lc, lifecycle.json_reply(200, lc.job_doc(job_id, base, version)))
        elif sc is not None:
            name, fn = sc.name, sc.fn
        else:
            name, fn = "RESOURCE_NOT_FOUND", seed("RESOURCE_NOT_FOUND")
        # --delay-ms: every answer on the job-details path, held after the
        # routing (and the log entry), before the scenario's first byte.
        if m and self.server.state.delay > 0:
            fn = held(self.server.state.delay, fn)

        entry = self.log_request_entry(safe_path, job_id, version, auth, name)
        self.run_scenario(entry, fn)

    def run_scenario(self, entry, fn):
        """Run fn(self), then record in `entry` how its response ended.
        The finally also counts the request out of in_flight (State.finish),
        if write() has not already done so before the last byte, whether fn
        returns, cuts the response or raises (client gone)."""
        error = None
        try:
            self.bytes_sent = 0
            self.cut = False
            self.entry = entry
            fn(self)
        except BaseException as e:
            error = type(e).__name__
            raise
        finally:
            self.entry = None
            self.server.state.finish(entry, self.bytes_sent,
                                     error is None and not self.cut, error)

    # -- OAuth token endpoint -----------------------------------------------

    def token_params(self):
        """The request's fields: the query string's, overridden by those of
        an application/x-www-form-urlencoded body (first value of a repeated
        field).  A body of another Content-Type is ignored."""
        params = {}
        query = self.path.split("#", 1)[0].partition("?")[2]
        sources = [query]
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.request_body and ctype == "application/x-www-form-urlencoded":
            sources.append(self.request_body.decode("utf-8", "replace"))
        for text in sources:
            fields = {}
            for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True,
                                               errors="replace"):
                fields.setdefault(k, v)
            params.update(fields)
        return params

    def token_endpoint(self):
        """POST /oauth/v2/token: choose the reply, log and count the request
        (never the refresh token, the client secret or the access token)."""
        p = self.token_params()
        grant_type = p.get("grant_type", "")
        client_id = p.get("client_id", "")
        secret = p.get("client_secret", "")
        rt = p.get("refresh_token", "")
        sc = token_scenario_of(rt) if rt else None

        if self.command != "POST":
            name, fn = "token_method_not_allowed", token_method_not_allowed
        elif not grant_type or grant_type != "refresh_token" or not rt:
            name, fn = "token_invalid_request", TOKEN_INVALID_REQUEST
        elif not client_id or not secret:
            name, fn = "token_invalid_client", TOKEN_INVALID_CLIENT
        elif secret == WRONG_SECRET:
            name, fn = "token_wrong_secret", TOKEN_INVALID_CLIENT
        elif sc is None:
            name, fn = "token_invalid_code", TOKEN_INVALID_CODE
        else:
            name, fn = sc.name, sc.fn

        def safe(value, limit=200):
            # a client that mixed its fields up must not get a secret logged
            if value and (value in (rt, secret) or TOKEN_SHAPES.search(value)):
                return "<redacted>"
            return value[:limit] if value else None

        sha = refresh_token_sha(rt) if rt else None
        state = self.server.state
        state.count_token_request(sha)
        entry = state.log({
            "time": utc_now(),
            "kind": "token",
            "method": self.command,
            "path": TOKEN_PATH,
            "job_id": None,
            "version": None,
            "auth": None,
            "connection": self.conn_serial,
            "scenario": name,
            "grant_type": safe(grant_type, 50),
            "client_id": safe(client_id),
            "refresh_token_prefix": sc.prefix if sc else None,
            "refresh_token_sha": sha,
        })
        self.run_scenario(entry, fn)

    def admin(self, path):
        state = self.server.state
        if path == "/__admin/requests" and self.command == "GET":
            self.send_json_plain(200, state.snapshot())
        elif path == "/__admin/stats" and self.command == "GET":
            self.send_json_plain(200, state.stats())
        elif path == "/__admin/reset" and self.command == "POST":
            state.reset()
            self.send_json_plain(200, {"reset": True})
        elif path == "/__admin/token-stats" and self.command == "GET":
            self.send_json_plain(200, state.token_stats())
        elif path == "/__admin/revoke-access-tokens" and self.command == "POST":
            self.send_json_plain(200, {"revoked": state.revoke_tokens()})
        elif path == "/__admin/lifecycle" and self.command == "GET":
            self.send_json_plain(200, state.lifecycle.summary())
        elif path == "/__admin/lifecycle" and self.command == "POST":
            try:
                changes = json.loads((self.request_body or b"{}").decode("utf-8"))
                self.send_json_plain(200, {"config": state.lifecycle.configure(changes)})
            except (ValueError, KeyError, AttributeError) as e:
                self.send_json_plain(400, {"error": "bad lifecycle setting: %s" % e})
        else:
            self.send_json_plain(404, {"error": "unknown admin endpoint"})


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, addr, state, verbose=False, ssl_context=None):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.verbose = verbose
        self.ssl_context = ssl_context
        self._serials = {}
        self._serials_lock = threading.Lock()
        super().__init__(addr, Handler)

    def process_request(self, request, client_address):
        # Count the connection here, in the accepting thread, so that
        # /__admin/stats is exact as soon as the connection is accepted.
        serial = self.state.new_connection()
        with self._serials_lock:
            self._serials[id(request)] = serial
        super().process_request(request, client_address)

    def take_serial(self, request):
        with self._serials_lock:
            return self._serials.pop(id(request), None)

    def finish_request(self, request, client_address):
        """In the connection's own thread: with TLS, do the handshake here
        (not in the accepting thread), so that a slow or failing client
        holds up nobody.  A failed handshake (the client rejects the
        certificate, speaks plain HTTP, goes away) ends this connection
        only: one line on stderr, no traceback."""
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        serial = self.take_serial(request)
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.state.tls_failure()
            sys.stderr.write("zoho_mock: TLS handshake failed (connection %s): %s\n"
                             % (serial, e))
            sys.stderr.flush()
            request.close()
            return
        with self._serials_lock:
            self._serials[id(conn)] = serial
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            # `request` was detached by wrap_socket; close the TLS socket
            # (the caller's shutdown_request(request) is then a no-op).
            self.shutdown_request(conn)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def loopback_only(host):
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        sys.exit("zoho_mock: cannot resolve --host %s: %s" % (host, e))
    for info in infos:
        if not ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback:
            sys.exit("zoho_mock: --host %s is not a loopback address; "
                     "this server listens on loopback only" % host)


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Local mock of the Zoho CRM Bulk Write job-details API.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18089,
                    help="0 = any free port (see --ready-file)")
    ap.add_argument("--token", action="append",
                    help="accepted access token (repeatable; default %s)"
                    % DEFAULT_TOKEN)
    ap.add_argument("--log", help="append a JSON line per API request here")
    ap.add_argument("--pidfile")
    ap.add_argument("--ready-file",
                    help="written (JSON: pid, host, port, url) once listening")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-cert", metavar="FILE",
                    help="serve HTTPS with this PEM certificate (chain)")
    ap.add_argument("--tls-key", metavar="FILE",
                    help="the PEM private key of --tls-cert (default: in "
                    "the --tls-cert file)")
    ap.add_argument("--api-domain", metavar="URL",
                    help='"api_domain" of /oauth/v2/token replies (default: '
                    "this server's own http[s]://host:port)")
    ap.add_argument("--other-api-domain", metavar="URL",
                    default=DEFAULT_OTHER_API_DOMAIN,
                    help='"api_domain" of the 1000.rt.otherdc. refresh tokens '
                    "(default %(default)s)")
    ap.add_argument("--delay-ms", type=int, default=0, metavar="N",
                    help="hold every response on the job-details path N ms "
                    "after routing, before its first byte, on top of the "
                    "scenario (default 0; not admin, not /oauth/v2/token)")
    ap.add_argument("--print-table", action="store_true",
                    help="print the scenario table (Markdown) and exit")
    ap.add_argument("--print-token-table", action="store_true",
                    help="print the refresh-token table of /oauth/v2/token "
                    "(Markdown) and exit")
    ap.add_argument("--list-wrong-types", action="store_true",
                    help="print '<job id>\\t<json path>' per generated "
                    "wrong-type job and exit")
    args = ap.parse_args(argv)

    if args.print_table:
        print_table()
        return 0
    if args.print_token_table:
        print_token_table()
        return 0
    if args.list_wrong_types:
        list_wrong_types()
        return 0
    if args.tls_key and not args.tls_cert:
        ap.error("--tls-key needs --tls-cert")
    if args.delay_ms < 0:
        ap.error("--delay-ms must be 0 or more")

    ssl_context = None
    if args.tls_cert:
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            sys.exit("zoho_mock: cannot load --tls-cert %s / --tls-key %s: %s"
                     % (args.tls_cert, args.tls_key, e))

    loopback_only(args.host)
    tokens = args.token or [DEFAULT_TOKEN]
    if args.ready_file and os.path.exists(args.ready_file):
        os.remove(args.ready_file)

    state = State(tokens, args.log)
    state.delay = args.delay_ms / 1000.0
    try:
        server = Server((args.host, args.port), state, args.verbose,
                        ssl_context)
    except OSError as e:
        sys.exit("zoho_mock: cannot listen on %s:%d: %s"
                 % (args.host, args.port, e))
    port = server.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        SHUTDOWN.set()
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # The gzip bomb takes a moment to build; do it before anyone asks.
    threading.Thread(target=gzip_bomb, daemon=True).start()

    loop = threading.Thread(target=server.serve_forever,
                            kwargs={"poll_interval": 0.1}, daemon=True)
    loop.start()

    if args.pidfile:
        write_atomically(args.pidfile, "%d\n" % os.getpid())
    host = args.host if ":" not in args.host else "[%s]" % args.host
    url = "%s://%s:%d" % ("https" if ssl_context else "http", host, port)
    state.api_domain = args.api_domain or url
    state.other_api_domain = args.other_api_domain
    if args.ready_file:
        write_atomically(args.ready_file, json.dumps({
            "pid": os.getpid(), "host": args.host, "port": port,
            "url": url}) + "\n")
    sys.stderr.write("zoho_mock: listening on %s (pid %d)\n"
                     % (url, os.getpid()))
    sys.stderr.flush()

    while not stop.wait(0.5):
        pass

    server.shutdown()           # serve_forever returns within poll_interval
    server.server_close()       # closes the listening socket
    state.close()
    for p in (args.pidfile, args.ready_file):
        if p:
            try:
                os.remove(p)
            except OSError:
                pass
    sys.stderr.write("zoho_mock: stopped\n")
    sys.stderr.flush()
    # Handler threads may still be stalled/dripping; they are daemon threads
    # and die with the process.  Leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
