"""The Bulk Write lifecycle of the local Zoho API server: the org call, the
upload, job creation, progress across polls, and the result file.

Facts and conflicts: shared/reference/zoho-bulk-write-lifecycle.md.  Where
Zoho's behaviour is unverified the server can be told to behave either way
(POST /__admin/lifecycle), so that a client is tested against both:

- upload errors come with HTTP 200 (Zoho's Postman collection) or with 400 /
  413 (the CRM docs): "upload_error_status": 200 | "4xx";
- file_id is a JSON string (the docs) or a number (the OpenAPI spec):
  "file_id_as_number": false | true;
- result rows keep the input order, or are shuffled: "shuffle": false | true;
- download_url is relative (/v7/crm/org.../bulk-write/...) or absolute:
  "absolute_download_url": false | true;
- a job fails midway: "fail_after": N rows (the rest are "unprocessed"), or
  null;
- how many polls a job stays INPROGRESS before it completes:
  "polls_in_progress" (default 1);
- the next create request fails once: "create_fault": "500" (HTTP 500
  INTERNAL_ERROR, no job) or "drop" (the job is created, then the
  connection is closed without an answer: a lost response), then the
  setting goes back to null;
- uploads are read slowly: "upload_read_bytes_per_s": N, or null (a client
  that goes away mid-upload ends the request: nothing is routed or logged;
  setting it back to null lets an upload being read finish at once);
- a create's reply is held: "create_reply_delay_ms": N, or null (the job is
  created at once, its 201 sent N ms later: a client that goes away
  meanwhile never learns that the job exists);
- every lifecycle answer is held: "call_delay_ms": N, or null (the org
  call, the upload, the create, a poll of a created job and the result
  download each wait N ms after routing, before their first byte: a server
  with a fixed latency per call, for benchmarks; on top of
  create_reply_delay_ms and of --delay-ms);
- the next result download finds its access token revoked, once:
  "result_fault": "revoke_token" (every issued access token is revoked and
  the download answered 401 INVALID_TOKEN, as the API answers a token that
  expired between a poll and the download), then back to null;
- a broken result file, to test a client's checks: "result_variant" null
  (the real one) or one of RESULT_VARIANTS (not a zip, a zip bomb, a CSV
  without STATUS, ...).

Every upload's headers (Host, Expect, feature, X-CRM-ORG, the file part's name and
whether it has a Content-Type) and every create body are recorded in
GET /__admin/lifecycle ("upload_requests", "create_requests").

Processing rules, applied to the uploaded CSV when the job is created:

- a mandatory field of the module (Leads, Contacts: Last_Name; Accounts:
  Account_Name; Deals: Deal_Name, Stage) empty: skipped,
  MANDATORY_NOT_FOUND-<fields>;
- an Email that is not an address: skipped, INVALID_DATA-Email;
- insert: a unique field's value (Email of Leads and Contacts, Account_Name
  of Accounts) seen before in the file or already stored: skipped,
  DUPLICATE_DATA-<field>;
- upsert: the find_by value stored already: updated (same record id), else
  added; update: stored: updated, else skipped, RESOURCE_NOT_FOUND-<field>;
- everything else: added, with a new 19-digit record id.

Records persist across jobs (per module) until /__admin/reset.  Result
files: one CSV per resource, named <module>-<uploaded csv name>, with the
first three mapped columns of the upload, then STATUS, RECORD_ID, ERRORS
(errors "CODE-col,col:CODE-col").  Python standard library only.
"""

import collections
import csv
import email.parser
import email.policy
import io
import itertools
import json
import operator
import random
import re
import sys
import threading
import time
import zipfile

VERSION = r"(v2|v2\.1|v[3-8])"
ORG_PATH = re.compile(r"^/crm/%s/org$" % VERSION)
UPLOAD_PATH = re.compile(r"^/crm/%s/upload$" % VERSION)
CREATE_PATH = re.compile(r"^/crm/bulk/%s/write$" % VERSION)
RESULT_PATH = re.compile(r"^/%s/crm/org([0-9]+)/bulk-write/([0-9]+)/([0-9]+)\.zip$" % VERSION)

ZGID = "808232144"
ORG_ID = "5725767000000020005"
MAX_UPLOAD = 25 * 1024 * 1024          # FILE_TOO_LARGE above
MAX_UPLOAD_BODY = MAX_UPLOAD + 1024 * 1024   # what the handler reads at most
MAX_ROWS = 25000
MAX_MAPPINGS = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
JSON_TYPE = "application/json;charset=UTF-8"
CREATOR = {"id": "4150868000000225013", "name": "Patricia Boyle"}

MODULES = {
    "Leads": {"id": "4150868000000002175", "mandatory": ["Last_Name"], "unique": ["Email"]},
    "Contacts": {"id": "4150868000000002179", "mandatory": ["Last_Name"], "unique": ["Email"]},
    "Accounts": {"id": "4150868000000002177", "mandatory": ["Account_Name"], "unique": ["Account_Name"]},
    "Deals": {"id": "4150868000000002181", "mandatory": ["Deal_Name", "Stage"], "unique": []},
}

DEFAULT_CONFIG = {
    "upload_error_status": 200,
    "file_id_as_number": False,
    "shuffle": False,
    "absolute_download_url": False,
    "fail_after": None,
    "polls_in_progress": 1,
    "create_fault": None,
    "upload_read_bytes_per_s": None,
    "create_reply_delay_ms": None,
    "result_variant": None,
    "result_fault": None,
    "call_delay_ms": None,
}

# What "result_variant" makes of a job's result zip (see result_zip()).
RESULT_VARIANTS = {
    "not_zip": "bytes that are not a zip (a truncated local header)",
    "truncated": "the real zip cut in half",
    "bomb": "one entry of 80 MiB of zeros, its real size declared",
    "bomb_lying": "one entry of 80 MiB of zeros declaring 1,000 bytes (a reader that stops at the declared size sees a CRC failure)",
    "no_status": "the real CSV with its STATUS column renamed STATE",
    "bad_csv": "a CSV whose second row opens a quote that never ends",
    "only_directory": "a valid zip whose one entry is a directory",
    "renamed": "the real CSV as the entry result.csv, after a directory entry",
    "ragged": "the real CSV with a short row appended",
    "encrypted": "the real zip with the entry's encryption flag set",
}
BOMB_SIZE = 80 * 1024 * 1024
# The errors of a row without any.  A tuple, not a new list per row: a
# result tuple holding only strings and () is soon untracked by the cyclic
# garbage collector, whose full collections otherwise walk every result of
# every job kept (25,000 per part: tens of ms per collection).
NO_ERRORS = ()
_bomb_cache = {}


def csv_rows(text):
    """list(csv.reader(io.StringIO(text, newline=""))), with the same rows
    and the same csv.Error.

    Fast path (a few times quicker): a text without any double quote or NUL
    whose every line ends with CRLF (no lone CR or LF) and whose lines are
    no longer than csv.field_size_limit() has no quoting and no field that
    can exceed the limit, so csv.reader's rows are its lines split at the
    commas (an empty line is an empty row, as csv.reader makes it)."""
    crlf = text.count("\r\n")
    if ('"' not in text and "\0" not in text
            and text.count("\r") == crlf and text.count("\n") == crlf):
        lines = text.split("\r\n")
        if lines[-1] == "":
            lines.pop()          # the text ended with a line end (or was empty)
        if not lines or max(map(len, lines)) <= csv.field_size_limit():
            return [line.split(",") if line else [] for line in lines]
    return list(csv.reader(io.StringIO(text, newline="")))


def error_doc(code, message, details=None):
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


class Lifecycle:
    """Uploaded files, created jobs and stored records.

    self.lock guards everything, briefly.  A create processes its rows
    (tens of ms) holding only self.process_lock, which alone guards the
    stored records, next_record and next_job, so that the other requests
    (uploads, polls, downloads, the call delay's lookup) need not wait for
    it; creates still run one at a time, in job id order.  Lock order:
    process_lock, then lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process_lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.process_lock, self.lock:
            self.config = dict(DEFAULT_CONFIG)
            self.files = {}
            self.jobs = {}
            self.records = {m: {} for m in MODULES}     # module -> {key value: record id}
            self.uploads = 0
            self.creates = 0
            self.upload_requests = []
            self.create_requests = []
            self.next_file = 7200000000000000000
            self.next_job = 7100000000000000000
            self.next_record = 7300000000000000000

    def configure(self, changes):
        with self.lock:
            for k, v in changes.items():
                if k not in DEFAULT_CONFIG:
                    raise KeyError(k)
                if k == "result_variant" and v is not None and v not in RESULT_VARIANTS:
                    raise KeyError("result_variant %s" % v)
                if k == "result_fault" and v not in (None, "revoke_token"):
                    raise KeyError("result_fault %r (null or \"revoke_token\")" % (v,))
                if k == "call_delay_ms" and v is not None and (
                        isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    raise KeyError("call_delay_ms %r (null or a whole number of ms, 0 or more)" % (v,))
            for k, v in changes.items():
                self.config[k] = v
            return dict(self.config)

    def summary(self):
        with self.lock:
            return {"config": dict(self.config), "uploads": self.uploads,
                    "creates": self.creates, "files": sorted(self.files),
                    "upload_requests": list(self.upload_requests),
                    "create_requests": list(self.create_requests),
                    "jobs": {j: {"file_id": v["file_id"], "module": v["module"],
                                 "operation": v["operation"], "rows": len(v["results"]),
                                 "polls": v["polls"], "status": v["final_status"]}
                             for j, v in self.jobs.items()}}

    # -- upload -------------------------------------------------------------

    def store_file(self, zip_bytes):
        """Read the CSVs of an uploaded zip; returns (file_id, None) or
        (None, error_doc).  The zip must hold at least one .csv."""
        try:
            zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise zipfile.BadZipFile("no csv")
            tables = {}
            for n in names:
                tables[n] = csv_rows(zf.read(n).decode("utf-8-sig"))
        except (zipfile.BadZipFile, UnicodeDecodeError, csv.Error, ValueError, EOFError):
            return None, error_doc("INVALID_FILE_FORMAT",
                                   "invalid file format. only zip format is supported")
        with self.lock:
            self.next_file += 1
            file_id = str(self.next_file)
            self.files[file_id] = {"names": names, "tables": tables}
            self.uploads += 1
        return file_id, None

    # -- create -------------------------------------------------------------

    def create_job(self, version, body):
        """Validate a create request; returns (201, doc) or (400, error)."""
        if not isinstance(body, dict):
            return 400, error_doc("INVALID_DATA", "body is not a JSON object")
        operation = body.get("operation")
        if operation is None:
            return 400, error_doc("MISSING_REQUIRED_KEY",
                                  "required key operation is not found in request body.",
                                  {"api_name": "operation"})
        if operation not in ("insert", "update", "upsert"):
            return 400, error_doc("INVALID_DATA", "invalid operation", {"api_name": "operation"})
        resources = body.get("resource")
        if not isinstance(resources, list) or not resources:
            return 400, error_doc("MISSING_REQUIRED_KEY",
                                  "required key resource is not found in request body.",
                                  {"api_name": "resource"})
        res = resources[0]
        module = res.get("module")
        if version == "v2":
            name = module if isinstance(module, str) else None
        else:
            name = module.get("api_name") if isinstance(module, dict) else None
        if name is None:
            return 400, error_doc("INVALID_DATA", "invalid module for API version %s" % version,
                                  {"api_name": "module"})
        if name not in MODULES:
            return 400, error_doc("MODULE_NOT_AVAILABLE",
                                  "Requested module '%s' is not available." % name)
        file_id = res.get("file_id")
        with self.lock:
            upload = self.files.get(str(file_id)) if file_id is not None else None
        if upload is None:
            return 400, error_doc("INVALID_FILE_ID", "improper file id")
        csv_name = upload["names"][0]
        table = upload["tables"][csv_name]
        header = table[0] if table else []
        rows = table[1:]
        mappings = res.get("field_mappings")
        if mappings is None:
            mappings = [{"api_name": h, "index": i} for i, h in enumerate(header)]
        if len(mappings) > MAX_MAPPINGS:
            return 400, error_doc("HEADER_LIMIT_EXCEEDED", "more than %d fields are mapped" % MAX_MAPPINGS)
        columns = {}            # api_name -> column index
        defaults = {}
        for m in mappings:
            api = m.get("api_name")
            if not isinstance(api, str):
                return 400, error_doc("MISSING_REQUIRED_KEY",
                                      "required key api_name is not found in request body.")
            if "default_value" in m and m.get("index") is None:
                defaults[api] = m["default_value"]
                continue
            idx = m.get("index")
            if not isinstance(idx, int) or idx < 0 or idx >= len(header):
                return 400, error_doc("COLUMN_INDEX_NOT_FOUND",
                                      "required key index for field %s is not found in request body." % api)
            if header[idx] != api:
                return 400, error_doc("INVALID_FIELD", "invalid mapping. invalid api_name %s." % api,
                                      {"api_name": api, "index": idx})
            columns[api] = idx
        spec = MODULES[name]
        missing = [f for f in spec["mandatory"] if f not in columns and f not in defaults]
        if missing:
            return 400, error_doc("MANDATORY_FIELDS_NOT_MAPPED",
                                  "All mandatory fields are not mapped for the layout",
                                  {"fields": missing})
        find_by = res.get("find_by")
        if operation in ("update", "upsert") and not find_by:
            return 400, error_doc("MISSING_REQUIRED_KEY",
                                  "required key find_by is not found in request body.",
                                  {"api_name": "find_by"})
        if find_by and find_by not in columns:
            return 400, error_doc("INVALID_DATA", "find_by field %s is not mapped" % find_by,
                                  {"api_name": "find_by"})
        if len(rows) > MAX_ROWS:
            return 400, error_doc("LIMIT_EXCEEDED", "more than %d records" % MAX_ROWS)

        with self.process_lock:
            with self.lock:
                self.next_job += 1
                job_id = str(self.next_job)
                config = dict(self.config)      # as it is when the job is created
            results, final = self.process(name, operation, find_by, columns, defaults, rows,
                                          config["fail_after"])
            order = list(range(len(rows)))
            if config["shuffle"]:
                random.Random(int(job_id)).shuffle(order)
            job = {
                "version": version, "module": name, "operation": operation,
                "file_id": str(file_id), "csv_name": csv_name, "header": header, "rows": rows,
                "mappings": mappings, "columns": columns, "results": results, "order": order,
                "polls": 0, "final_status": final, "ignore_empty": body.get("ignore_empty", False),
                "callback": body.get("callback"), "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "polls_in_progress": config["polls_in_progress"],
                "absolute": config["absolute_download_url"],
            }
            with self.lock:
                self.jobs[job_id] = job
                self.creates += 1
        return 201, {"status": "success", "code": "SUCCESS", "message": "success",
                     "details": {"id": job_id, "created_by": CREATOR}}

    def process(self, module, operation, find_by, columns, defaults, rows, fail_after):
        """Each row's (status, record id, errors); process_lock is held.

        A field's value in a row is the row's cell of the field's mapped
        column, or, when it has no such column (not mapped, or the row is
        short), the mapping's default_value "value" ("" without one).  Each
        field's (column, default) is worked out once here, not per row and
        per use; and the usual insert takes a shorter loop (see below)."""
        spec = MODULES[module]
        store = self.records[module]
        results = []
        append = results.append
        never = sys.maxsize             # "no column": i < len(row) is never true

        def field(name):
            """(column index or never, value without that column)."""
            i = columns.get(name)
            d = defaults.get(name)
            return (never if i is None else i), (d.get("value", "") if isinstance(d, dict) else "")

        mandatory = [(f,) + field(f) for f in spec["mandatory"]]
        unique = [(f, set()) + field(f) for f in spec["unique"]]   # set: seen in this file
        mail_i, mail_d = field("Email") if "Email" in columns else (None, None)
        key_i, key_d = field(find_by) if find_by else (None, None)
        finds = operation in ("update", "upsert")
        match = EMAIL.match

        def one(n, row):
            """The rules, for row number n."""
            if fail_after is not None and n >= fail_after:
                return ("unprocessed", "", NO_ERRORS)
            width = len(row)
            errors = []
            empty = [f for f, i, d in mandatory if (row[i] if i < width else d) == ""]
            if empty:
                errors.append(("MANDATORY_NOT_FOUND", empty))
            if mail_i is not None:
                mail = row[mail_i] if mail_i < width else mail_d
                if mail and not match(mail):
                    errors.append(("INVALID_DATA", ["Email"]))
            key = (row[key_i] if key_i < width else key_d) if key_i is not None else None
            if errors:
                return ("skipped", "", errors)
            if finds and key in store:
                return ("updated", store[key], NO_ERRORS)
            if operation == "update":
                return ("skipped", "", [("RESOURCE_NOT_FOUND", [find_by])])
            values = [(row[i] if i < width else d) for f, seen, i, d in unique]
            dup = [u[0] for u, v in zip(unique, values) if v != "" and (v in u[1] or v in store)]
            if dup and operation == "insert":
                return ("skipped", "", [("DUPLICATE_DATA", dup)])
            self.next_record += 1
            rid = str(self.next_record)
            for u, v in zip(unique, values):
                if v != "":
                    u[1].add(v)
                    store[v] = rid
            if find_by and key:
                store[key] = rid
            return ("added", rid, NO_ERRORS)

        # The usual insert (Leads, Contacts, Accounts: one mandatory and one
        # unique field, both mapped, every row wide enough, no find_by or
        # fail_after).  When every row is added, map/zip do it without a
        # Python loop.  Otherwise a row whose mandatory value and unique
        # value are not empty and whose Email (if mapped) is an address is
        # "added" right here, or skipped as DUPLICATE_DATA when its unique
        # value was seen (those rows share one errors list: nothing changes
        # it); any other row goes through one(), which then finds the same
        # state (seen, store, next_record).
        used = [i for _, i, _ in mandatory] + [i for _, _, i, _ in unique] + [
            i for i in (mail_i,) if i is not None]
        if (operation == "insert" and not find_by and fail_after is None
                and len(mandatory) == 1 and len(unique) == 1 and never not in used
                and rows and min(map(len, rows)) > max(used)):
            m_i = mandatory[0][1]
            u_name, seen, u_i, _ = unique[0]
            keys = list(map(operator.itemgetter(u_i), rows))
            distinct = set(keys)
            if ("" not in distinct and len(distinct) == len(keys)
                    and distinct.isdisjoint(store)
                    and "" not in map(operator.itemgetter(m_i), rows)
                    and (mail_i is None or all(map(match, filter(None, map(
                        operator.itemgetter(mail_i), rows)))))):
                # Every row is added (no empty mandatory or unique value, no
                # bad Email, every unique value new): the loop below would
                # give row n the record id next_record + 1 + n; all at once.
                first = self.next_record + 1
                self.next_record += len(rows)
                ids = list(map(str, range(first, first + len(rows))))
                store.update(zip(keys, ids))
                results.extend(zip(itertools.repeat("added"), ids, itertools.repeat(NO_ERRORS)))
            else:
                duplicate = [("DUPLICATE_DATA", [u_name])]
                for n, row in enumerate(rows):
                    v = row[u_i]
                    mail = row[mail_i] if mail_i is not None else ""
                    if row[m_i] == "" or (mail and not match(mail)) or v == "":
                        append(one(n, row))
                        continue
                    if v in seen or v in store:
                        append(("skipped", "", duplicate))
                        continue
                    self.next_record += 1
                    rid = str(self.next_record)
                    seen.add(v)
                    store[v] = rid
                    append(("added", rid, NO_ERRORS))
        else:
            for n, row in enumerate(rows):
                append(one(n, row))
        final = "FAILED" if fail_after is not None and fail_after < len(rows) else "COMPLETED"
        return results, final

    # -- job details and result ----------------------------------------------

    def job_doc(self, job_id, base_url, version):
        """The job-details document of a created job, one poll further, in
        the shape of API version "version" (that of the request); None when
        job_id is not one of ours."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            job["polls"] += 1
            polls = job["polls"]
            done = polls > job["polls_in_progress"]
            status = job["final_status"] if done else "INPROGRESS"
            results = job["results"]
            share = len(results) if done else len(results) // 2
            statuses = collections.Counter(map(operator.itemgetter(0), results[:share]))
            counts = {"added_count": statuses["added"],
                      "updated_count": statuses["updated"],
                      "skipped_count": statuses["skipped"],
                      "total_count": len(results)}
        module = job["module"] if version == "v2" else {"id": MODULES[job["module"]]["id"],
                                                          "api_name": job["module"]}
        mappings = []
        for m in job["mappings"]:
            mappings.append({"api_name": m.get("api_name"), "index": m.get("index"),
                             "format": m.get("format"), "find_by": m.get("find_by"),
                             "module": m.get("module"), "default_value": m.get("default_value")})
        resource = {"status": status, "type": "data", "module": module,
                    "field_mappings": mappings,
                    "file": dict({"status": status, "name": job["csv_name"]}, **counts),
                    "code": status}
        doc = {"status": status, "character_encoding": "UTF-8", "resource": [resource],
               "id": job_id, "callback": job["callback"], "created_by": CREATOR,
               "ignore_empty": job["ignore_empty"], "operation": job["operation"],
               "created_time": job["created_time"]}
        if done:
            path = "/%s/crm/org%s/bulk-write/%s/%s.zip" % (version, ZGID, job_id, job_id)
            doc["result"] = {"download_url": (base_url + path) if job["absolute"] else path}
        return doc

    def result_zip(self, job_id):
        """The result zip of a finished job, or None."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job["polls"] <= job["polls_in_progress"]:
                return None
        shown = sorted(job["columns"].items(), key=lambda kv: kv[1])[:3]
        out = io.StringIO(newline="")
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow([api for api, _ in shown] + ["STATUS", "RECORD_ID", "ERRORS"])
        text = result_lines([i for _, i in shown], job["rows"], job["results"], job["order"])
        if text is None:                # the general case: csv.writer row by row
            for n in job["order"]:
                row = job["rows"][n]
                status, rid, errors = job["results"][n]
                w.writerow([row[i] if i < len(row) else "" for _, i in shown] +
                           [status, rid, ":".join("%s-%s" % (c, ",".join(f)) for c, f in errors)])
            text = ""
        with self.lock:
            variant = self.config["result_variant"]
        return variant_zip(variant, "%s-%s" % (job["module"], job["csv_name"]),
                           out.getvalue() + text)


# What makes csv.writer (the default dialect, lineterminator "\r\n") quote a field.
_CSV_SPECIAL = re.compile(r'[,"\r\n]')


def csv_field(s):
    """s as csv.writer writes it in a row of several fields."""
    return '"%s"' % s.replace('"', '""') if _CSV_SPECIAL.search(s) else s


def result_lines(shown, rows, results, order):
    """The result CSV's data rows, as result_zip()'s csv.writer would write
    them, or None when this shortcut does not apply (then it writes them).

    The shortcut: when every row has all of the shown columns and none of
    their values needs quoting (no comma, quote, CR or LF: checked on all
    of them at once: the joined values hold exactly the separating commas),
    each row's shown part is a plain ",".join, made by map() without a
    Python loop; STATUS and RECORD_ID never need quoting; ERRORS, when not
    empty, goes through csv_field()."""
    if not shown or not rows or min(map(len, rows)) <= max(shown):
        return None
    if len(shown) == 1:
        heads = list(map(operator.itemgetter(shown[0]), rows))
    else:
        heads = list(map(",".join, map(operator.itemgetter(*shown), rows)))
    joined = "".join(heads)
    if ('"' in joined or "\r" in joined or "\n" in joined
            or joined.count(",") != (len(shown) - 1) * len(heads)):
        return None
    tails = []
    add = tails.append
    texts = {}          # id(errors) -> its ERRORS field: rows may share one errors list
    for status, rid, errors in results:
        if errors:
            text = texts.get(id(errors))
            if text is None:
                text = texts[id(errors)] = csv_field(
                    ":".join("%s-%s" % (c, ",".join(f)) for c, f in errors))
            add("%s,%s,%s\r\n" % (status, rid, text))
        else:
            add("%s,%s,\r\n" % (status, rid))
    return "".join([heads[n] + "," + tails[n] for n in order])


# Deflate level of result files: 1, the fastest (25,000 rows: ~8 instead of
# ~28 ms; the zip is some 10% larger).  No client or test depends on the
# compressed bytes, only on what they inflate to.
RESULT_ZIP_LEVEL = 1


def zip_bytes(entries, directory=None, level=RESULT_ZIP_LEVEL):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        if directory:
            zf.writestr(zipfile.ZipInfo(directory), b"")
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def bomb(lying):
    """A zip of one entry of BOMB_SIZE zeros (about 80 kB), made once;
    lying: its local and central headers declare 1,000 bytes instead."""
    if lying not in _bomb_cache:
        data = zip_bytes([("Leads-bomb.csv", b"\0" * BOMB_SIZE)], level=None)   # zlib's default
        if lying:
            b = bytearray(data)
            local = b.find(b"PK\x03\x04")
            central = b.find(b"PK\x01\x02")
            b[local + 22:local + 26] = (1000).to_bytes(4, "little")
            b[central + 24:central + 28] = (1000).to_bytes(4, "little")
            data = bytes(b)
        _bomb_cache[lying] = data
    return _bomb_cache[lying]


def variant_zip(variant, name, text):
    """The result zip of entry "name" holding the CSV "text", made into
    RESULT_VARIANTS[variant] (the real one for None)."""
    real = zip_bytes([(name, text)])
    if variant is None:
        return real
    if variant == "not_zip":
        return b"PK\x03\x04 this is not a zip archive"
    if variant == "truncated":
        return real[:len(real) // 2]
    if variant in ("bomb", "bomb_lying"):
        return bomb(variant == "bomb_lying")
    if variant == "no_status":
        head, rest = text.split("\r\n", 1)
        return zip_bytes([(name, head.replace("STATUS", "STATE") + "\r\n" + rest)])
    if variant == "bad_csv":
        head = text.split("\r\n", 1)[0]
        return zip_bytes([(name, head + "\r\nA,added,1,\r\n\"B,skipped,,\r\n")])
    if variant == "only_directory":
        return zip_bytes([], directory="results/")
    if variant == "renamed":
        return zip_bytes([("result.csv", text)], directory="results/")
    if variant == "ragged":
        return zip_bytes([(name, text + "short\r\n")])
    if variant == "encrypted":
        b = bytearray(real)
        local = b.find(b"PK\x03\x04")
        central = b.find(b"PK\x01\x02")
        b[local + 6] |= 1
        b[central + 8] |= 1
        return bytes(b)
    raise KeyError(variant)


# The multipart body every client sends (libcurl's mime API, Zoho's SDKs,
# bench/part8.py): one part, its Content-Disposition (and perhaps a
# Content-Type) header, the zip, the close delimiter.  multipart_part() reads
# such a body with the few slices below instead of email.parser, which splits
# the whole (binary) body into lines in Python: about 70 ms for a 1 MB zip.
# The patterns are deliberately narrow; a body or header outside them (other
# boundary characters, parameters, quoting, encodings, several parts, another
# part name, a preamble ...) goes to email.parser as before, so the answer is
# email.parser's in every case (test_server.py's lifecycle tests use both).
_FAST_CTYPE = re.compile(r"multipart/form-data; boundary=([A-Za-z0-9_.-]{1,70})\Z")
_FAST_DISPOSITION = re.compile(
    rb'Content-Disposition: form-data; name="file"(?:; filename="([A-Za-z0-9_.+-]{1,200})")?\Z')
_FAST_PART_TYPE = re.compile(rb"Content-Type: ((?!multipart/|message/)[a-z0-9.+-]+/[a-z0-9.+-]+)\Z")


class _FastPart:
    """What upload() asks of an email.message part, for a body read by
    _fast_part(): get_filename(), get("Content-Type"), get_payload(decode=True)."""

    def __init__(self, filename, content_type, payload):
        self.filename = filename
        self.content_type = content_type
        self.payload = payload

    def get_filename(self):
        return self.filename

    def get(self, name):
        assert name == "Content-Type"
        return self.content_type

    def get_payload(self, decode=False):
        assert decode
        return self.payload


def _fast_part(content_type, body):
    """The "file" part of a one-part body of the shape above as a _FastPart,
    or None for any other body.

    As email.parser reads it: lines end at \r\n, \r or \n; the payload ends
    at the first line that is "--boundary", optionally "--", optionally
    spaces and tabs, then the end of the line (or of the data); the line end
    before that line belongs to the delimiter."""
    m = _FAST_CTYPE.match(content_type)
    if not m:
        return None
    delim = b"--" + m.group(1).encode("ascii")
    if not body.startswith(delim + b"\r\n"):
        return None
    head_start = len(delim) + 2
    head_end = body.find(b"\r\n\r\n", head_start)
    if head_end < 0:
        return None
    filename = part_type = None
    disposition = False
    for line in body[head_start:head_end].split(b"\r\n"):
        d = _FAST_DISPOSITION.match(line)
        t = _FAST_PART_TYPE.match(line)
        if d and not disposition:
            disposition = True
            filename = d.group(1).decode("ascii") if d.group(1) else None
        elif t and part_type is None:
            part_type = t.group(1).decode("ascii")
        else:
            return None
    if not disposition:
        return None
    start = head_end + 4
    delimiter_line = re.compile(re.escape(delim) + rb"(--)?[ \t]*(?:\r|\n|\Z)")
    pos = start
    while True:
        i = body.find(delim, pos)
        if i < 0:
            return None
        if i == start or body[i - 1] in b"\r\n":       # at the start of a line
            d = delimiter_line.match(body, i)
            if d:
                if not d.group(1):
                    return None                        # another part follows
                end = i
                if body.endswith(b"\r\n", start, end):
                    end -= 2
                elif end > start and body[end - 1] in b"\r\n":
                    end -= 1
                return _FastPart(filename, part_type, body[start:end])
        pos = i + 1


def multipart_part(content_type, body):
    """The form part named "file" of a multipart/form-data body (an
    email.message part, or a _FastPart that answers the same), or None."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return None
    fast = _fast_part(content_type, body)
    if fast is not None:
        return fast
    return email_part(content_type, body)


def email_part(content_type, body):
    """multipart_part() by the email package alone (the slow path, and what
    test_server.py's FastPathTest checks the fast one against)."""
    head = ("Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" % content_type).encode("latin-1")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part
    return None


def multipart_file(content_type, body):
    """The bytes of the form part named "file" of a multipart/form-data
    body, or None.  The part needs no Content-Type of its own."""
    part = multipart_part(content_type, body)
    return part.get_payload(decode=True) if part is not None else None


def read_upload_body(h, n):
    """Read the n bytes of an upload's body from handler h, at most
    "upload_read_bytes_per_s" per second while that is set (it is read again
    for every piece: setting it back to null lets an upload being read slowly
    finish at once, so that a test's interrupted upload is not counted late,
    in the next test); None when the client stops sending before the end."""
    lc = h.server.state.lifecycle
    out = bytearray()
    while len(out) < n:
        rate = lc.config.get("upload_read_bytes_per_s")
        if not rate:
            rest = h.rfile.read(n - len(out))
            if rest is None or len(rest) < n - len(out):
                return None                          # the client went away
            return bytes(out + rest)
        piece = max(1, min(65536, int(rate) // 20))  # 20 pieces a second
        data = h.rfile.read1(min(piece, n - len(out)))
        if not data:
            return None                              # the client went away
        out += data
        time.sleep(len(data) / float(rate))
    return bytes(out)


def handle(h, path, auth, log):
    """Route a lifecycle request; returns False when the path is not one.
    h is the request handler, auth its auth_state(), log(name, job_id) logs
    the request and returns its entry, for h.run_scenario."""
    lc = h.server.state.lifecycle
    for pattern, method, fn in ((ORG_PATH, "GET", org), (UPLOAD_PATH, "POST", upload),
                                (CREATE_PATH, "POST", create), (RESULT_PATH, "GET", result)):
        m = pattern.match(path)
        if not m:
            continue
        if h.command != method:
            return False        # the caller answers INVALID_REQUEST_METHOD
        if auth != "ok":
            return False        # the caller answers the auth failure
        name, reply = fn(h, lc, m)
        job_id = m.group(3) if pattern is RESULT_PATH else None
        h.run_scenario(log(name, job_id), call_delayed(lc, reply))
        return True
    return False


def call_delayed(lc, fn):
    """fn, held "call_delay_ms" first when that is set (read now, when the
    request is routed).  Like --delay-ms, the wait ends early, with nothing
    sent, when the client goes away or the server stops."""
    with lc.lock:
        delay = lc.config["call_delay_ms"]
    if not delay:
        return fn

    def run(h):
        if not h.stall(delay / 1000.0):
            h.cut_response()
            return
        fn(h)
    return run


def lifecycle_path(path):
    """True for the paths handle() serves."""
    return method_of(path) is not None


def method_of(path):
    """The method a lifecycle path takes, or None for any other path."""
    for pattern, method in ((ORG_PATH, "GET"), (UPLOAD_PATH, "POST"),
                            (CREATE_PATH, "POST"), (RESULT_PATH, "GET")):
        if pattern.match(path):
            return method
    return None


def json_reply(code, doc):
    body = json.dumps(doc, separators=(",", ":")).encode()

    def fn(h):
        h.send_body(code, body, JSON_TYPE)
    return fn


def org(h, lc, m):
    return "org", json_reply(200, {"org": [{
        "id": ORG_ID, "zgid": ZGID, "domain_name": "org" + ZGID,
        "company_name": "zcrm_bulk test org", "time_zone": "Europe/London",
        "type": "production", "currency": "Euro - EUR", "country_code": "GB"}]})


def upload_error(lc, doc, http_4xx):
    status = lc.config["upload_error_status"]
    code = 200 if status == 200 else http_4xx
    return "upload_error:" + doc["code"], json_reply(code, doc)


def upload(h, lc, m):
    feature = h.headers.get("feature")
    org_header = h.headers.get("X-CRM-ORG")
    part = multipart_part(h.headers.get("Content-Type"), h.request_body or b"")
    with lc.lock:
        lc.upload_requests.append({
            "host": h.headers.get("Host"),
            "expect": h.headers.get("Expect"), "feature": feature, "x_crm_org": org_header,
            "content_type": (h.headers.get("Content-Type") or "").split(";")[0],
            "file_name": part.get_filename() if part is not None else None,
            "part_content_type": part.get("Content-Type") if part is not None else None,
            "bytes": len(h.request_body) if h.request_body is not None else None})
        del lc.upload_requests[:-50]
    if feature != "bulk-write" or org_header != ZGID:
        return upload_error(lc, error_doc("INVALID_REQUEST",
                                          "check if headers [feature, X-CRM-ORG] are present and valid"), 400)
    body = h.request_body
    if body is None or len(body) > MAX_UPLOAD:
        return upload_error(lc, error_doc("FILE_TOO_LARGE", "file size is too large"), 413)
    # the part read above, for the request log (body is h.request_body)
    data = part.get_payload(decode=True) if part is not None else None
    if data is None:
        return upload_error(lc, error_doc("MISSING_REQUIRED_KEY",
                                          "required key file is not found in request body."), 400)
    file_id, err = lc.store_file(data)
    if err:
        return upload_error(lc, err, 400)
    fid = int(file_id) if lc.config["file_id_as_number"] else file_id
    return "upload", json_reply(200, {"status": "success", "code": "FILE_UPLOAD_SUCCESS",
                                      "message": "file uploaded.",
                                      "details": {"file_id": fid,
                                                  "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}})


def create(h, lc, m):
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    try:
        if ctype != "application/json":
            raise ValueError("not json")
        body = json.loads((h.request_body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        doc = error_doc("INVALID_DATA", "the request body is not JSON")
        return "create_error:INVALID_DATA", json_reply(400, doc)
    with lc.lock:
        lc.create_requests.append({"version": m.group(1), "body": body})
        del lc.create_requests[:-50]
        fault = lc.config["create_fault"]
        lc.config["create_fault"] = None
    if fault == "500":
        return "create_fault:500", json_reply(500, error_doc("INTERNAL_ERROR", "internal error"))
    code, doc = lc.create_job(m.group(1), body)
    if fault == "drop":
        def dropped(h):
            h.reset_connection()
        return "create_fault:drop", dropped
    reply = json_reply(code, doc)
    delay = lc.config["create_reply_delay_ms"]
    if delay:
        def held(h):
            time.sleep(delay / 1000.0)
            reply(h)
        return ("create" if code == 201 else "create_error:" + doc["code"]), held
    return ("create" if code == 201 else "create_error:" + doc["code"]), reply


def result(h, lc, m):
    with lc.lock:
        fault = lc.config["result_fault"]
        lc.config["result_fault"] = None
    if fault == "revoke_token":
        h.server.state.revoke_tokens()
        return "result_fault:revoke_token", json_reply(401, error_doc("INVALID_TOKEN", "invalid oauth token"))
    data = lc.result_zip(m.group(3)) if m.group(2) == ZGID else None
    if data is None:
        return "result_not_found", json_reply(404, error_doc("RESOURCE_NOT_FOUND",
                                                             "The requested resource doesn't exist."))

    def fn(h):
        h.send_body(200, data, "application/zip", gzipped=False, chunked=False)
    return "result", fn
