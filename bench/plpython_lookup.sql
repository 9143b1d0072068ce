-- bench/plpython_lookup.sql: zcrm_write_job() written in PL/Python, the way
-- one would without the extension: urllib.request for the GET, the json
-- module for the document.  The benchmark compares its calls per second
-- with the C function's.
--
-- It returns the extension's own row type (zcrm_write_job_row), filled from
-- the same document with the same rules (IN PROGRESS normalised, module as a
-- string or an object, relative download_url made absolute, one row with
-- NULL resource columns when there is no resource), reads the same settings
-- (zcrm_bulk.api_domain, zcrm_bulk.api_version, zcrm_bulk.ca_file) and
-- checks job id and token the same way.  It does not do retries, named
-- connections or the extension's error mapping: a non-2xx answer is one
-- generic error.  urllib.request opens a new connection for every call (it
-- has no keep-alive); that is part of what is measured.
--
-- Run in a database where zcrm_bulk is installed:
--   psql -f bench/plpython_lookup.sql

CREATE EXTENSION IF NOT EXISTS plpython3u;

CREATE OR REPLACE FUNCTION bench_py_write_job(job_id text, token text DEFAULT NULL,
											  connection text DEFAULT NULL)
RETURNS SETOF zcrm_write_job_row
LANGUAGE plpython3u VOLATILE
AS $py$
import gzip
import json
import re
import ssl
import urllib.error
import urllib.request

if job_id is None:
    plpy.error("job_id must not be null", sqlstate="22004")
if not re.fullmatch(r"[0-9]{1,32}", job_id):
    plpy.error("invalid bulk write job id", sqlstate="22023")
if token is None or connection is not None:
    plpy.error("bench_py_write_job() needs a token and no connection", sqlstate="22023")
if len(token) > 4096 or not re.fullmatch(r"[A-Za-z0-9._~+/-]+=*", token):
    plpy.error("invalid access token", sqlstate="22023")

# The settings, through a plan prepared once per session.
plan = SD.get("settings")
if plan is None:
    plan = plpy.prepare(
        "SELECT coalesce(current_setting('zcrm_bulk.api_domain', true), "
        "                'https://www.zohoapis.com') AS domain, "
        "       coalesce(nullif(current_setting('zcrm_bulk.api_version', true), ''), "
        "                'v2') AS version, "
        "       coalesce(current_setting('zcrm_bulk.ca_file', true), '') AS ca_file")
    SD["settings"] = plan
s = plan.execute()[0]
base = s["domain"].rstrip("/")
url = "%s/crm/bulk/%s/write/%s" % (base, s["version"], job_id)

context = None
if url.startswith("https:"):
    context = ssl.create_default_context(cafile=s["ca_file"] or None)

request = urllib.request.Request(url, headers={
    "Authorization": "Zoho-oauthtoken " + token,
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "User-Agent": "bench-plpython",
})
try:
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        body = response.read()
        if response.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
except urllib.error.HTTPError as e:
    plpy.error("Zoho CRM API answered HTTP %d" % e.code, sqlstate="22023")
except (urllib.error.URLError, OSError) as e:
    plpy.error("could not reach the Zoho CRM API: %s" % e, sqlstate="08001")

try:
    doc = json.loads(body)
except ValueError:
    plpy.error("the Zoho CRM API response is not valid JSON", sqlstate="22032")
if not isinstance(doc, dict):
    plpy.error("unexpected Zoho CRM API response", sqlstate="22000")


def status(v):
    return "INPROGRESS" if v == "IN PROGRESS" else v


def text(v):
    return None if v is None else str(v)


def obj(v):
    return v if isinstance(v, dict) else {}


created_by = obj(doc.get("created_by"))
callback = obj(doc.get("callback"))
download = obj(doc.get("result")).get("download_url")
if download is not None and not re.match(r"(?i)https?://", download):
    if download.startswith("//"):
        download = ("https:" if base.lower().startswith("https:") else "http:") + download
    elif download.startswith("/"):
        download = base + download
    else:
        download = base + "/" + download

job = (
    text(doc.get("id")),
    status(doc.get("status")),
    doc.get("operation"),
    doc.get("ignore_empty"),
    doc.get("character_encoding"),
    doc.get("created_time"),
    text(created_by.get("id")),
    created_by.get("name"),
    callback.get("url"),
    callback.get("method"),
    download,
)

resources = doc.get("resource") or []
if not resources:
    return [job + (None,) * 12]

rows = []
for i, r in enumerate(resources):
    module = r.get("module")
    if isinstance(module, dict):
        module_name, module_id = module.get("api_name"), text(module.get("id"))
    else:
        module_name, module_id = module, None
    f = obj(r.get("file"))
    rows.append(job + (
        i,
        r.get("type"),
        module_name,
        module_id,
        status(r.get("status")),
        r.get("code"),
        f.get("name"),
        status(f.get("status")),
        f.get("added_count"),
        f.get("updated_count"),
        f.get("skipped_count"),
        f.get("total_count"),
    ))
return rows
$py$;

REVOKE ALL ON FUNCTION bench_py_write_job(text, text, text) FROM PUBLIC;
