"""Uploads files with msgraph-core's LargeFileUploadTask to the resumable emulator's drive
endpoint and judges every request the SDK sends against SPEC.md section 1.1.

Each PUT/GET/DELETE the SDK puts on the wire is judged independently here (right or wrong, and
which SPEC section 5 lesson a wrong one breaks); the emulator's answer must agree: a right
request is accepted (2xx), a wrong one refused (4xx). What the emulator stored is read back from
`/_emulator/files` (SHA-256) and what it refused from `/_emulator/stats`.

Usage: python upload.py BASE_URL TOKEN
Exit status 0 when the emulator agreed with every judgement and never stored wrong bytes;
1 otherwise. The report (a Markdown table) goes to stdout.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import sys
import traceback
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    AnonymousAuthenticationProvider,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.headers_collection import HeadersCollection
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.serialization import (
    ParseNodeFactoryRegistry,
    SerializationWriterFactoryRegistry,
)
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from kiota_serialization_json.json_serialization_writer_factory import (
    JsonSerializationWriterFactory,
)
from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory
from msgraph_core.models import LargeFileUploadSession
from msgraph_core.tasks import LargeFileUploadTask

KIB320 = 327_680


class FixedToken(AccessTokenProvider):
    """A bearer token for every URL on the allowed hosts: what an Azure credential gives the
    Graph SDK, without Azure."""

    def __init__(self, token: str, hosts: list[str]) -> None:
        self.token = token
        self.validator = AllowedHostsValidator(hosts)

    async def get_authorization_token(self, uri, additional_authentication_context={}):
        return self.token if self.validator.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self):
        return self.validator


@dataclass
class Wire:
    """One request the SDK sent and the emulator's answer."""

    method: str
    url: str
    content_range: str | None
    content_length: int
    authorization: bool
    status: int = 0
    verdict: str = ""


@dataclass
class Judge:
    """Judges each request on an upload URL by SPEC 1.1, tracking the server position from
    the emulator's own answers (a judge that trusted the SDK would share its bugs)."""

    upload_url: str
    total: int
    position: int = 0
    completed: bool = False
    wire: list[Wire] = field(default_factory=list)

    def judge(self, w: Wire) -> str:
        """'right' or 'wrong: <lesson>' for a request about to be sent."""
        if w.authorization:
            return "wrong: 5.2 Authorization on the upload URL"
        if self.completed and w.content_length == 0 and w.method == "PUT":
            return "wrong: 5.4 a second, empty PUT after the upload completed"
        if self.completed:
            return "wrong: 5.13 request after the upload completed"
        if w.method != "PUT":
            return "right"
        if w.content_length == 0:
            return "wrong: 5.4 empty PUT"
        try:
            unit, spec = w.content_range.split(" ")
            span, total = spec.split("/")
            first, last = (int(x) for x in span.split("-"))
        except (AttributeError, ValueError):
            return f"wrong: malformed Content-Range {w.content_range!r}"
        if unit != "bytes" or int(total) != self.total or last - first + 1 != w.content_length:
            return "wrong: Content-Range does not match the body"
        if first != self.position:
            return "wrong: 5.1 fragment not at the server's position"
        if last + 1 != self.total and (last + 1) % KIB320 != 0:
            return "wrong: fragment off the 320 KiB grid"
        return "right"

    def answered(self, w: Wire, body: bytes) -> None:
        if w.status in (200, 201):
            self.completed = True
        elif w.status == 202:
            ranges = json.loads(body).get("nextExpectedRanges") or []
            self.position = int(ranges[0].split("-")[0]) if ranges else self.total


def emulator_json(base: str, path: str):
    with urllib.request.urlopen(f"{base}/_emulator/{path}") as answer:
        return json.load(answer)


def adapter(auth, hooks) -> BaseGraphRequestAdapter:
    parse = ParseNodeFactoryRegistry()
    parse.CONTENT_TYPE_ASSOCIATED_FACTORIES["application/json"] = JsonParseNodeFactory()
    write = SerializationWriterFactoryRegistry()
    write.CONTENT_TYPE_ASSOCIATED_FACTORIES["application/json"] = JsonSerializationWriterFactory()
    client = httpx.AsyncClient(event_hooks=hooks, timeout=30)
    client = GraphClientFactory.create_with_default_middleware(client=client)
    return BaseGraphRequestAdapter(auth, parse, write, http_client=client)


async def create_session(base: str, token: str, name: str, size: int) -> LargeFileUploadSession:
    """`POST createUploadSession` through the SDK's adapter with the bearer token."""
    host = urlsplit(base).hostname
    creator = adapter(BaseBearerTokenAuthenticationProvider(FixedToken(token, [host])), {})
    info = RequestInformation()
    info.url = f"{base}/v1.0/me/drive/root:/interop/{name}:/createUploadSession"
    info.http_method = Method.POST
    info.headers = HeadersCollection()
    info.headers.try_add("Content-Type", "application/json")
    info.content = json.dumps(
        {"item": {"@microsoft.graph.conflictBehavior": "replace", "fileSize": size}}
    ).encode()
    return await creator.send_async(
        info, LargeFileUploadSession, {}
    )


@dataclass
class Case:
    name: str
    size: int
    chunk: int
    bearer_on_upload: bool = False


@dataclass
class Outcome:
    case: Case
    wire: list[Wire]
    stored: str
    sdk_result: str
    swallowed: list[str]
    disagreements: list[str]


class Swallowed(logging.Handler):
    """Collects what the task logs and carries on past ("Error uploading chunk ...")."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def run_case(base: str, token: str, case: Case) -> Outcome:
    data = bytes((i * 2654435761 >> 7) & 0xFF for i in range(case.size))
    name = f"{case.name}.bin"
    session = await create_session(base, token, name, case.size)
    judge = Judge(session.upload_url, case.size)
    pending: dict[int, Wire] = {}

    async def on_request(request: httpx.Request) -> None:
        try:
            length = len(request.content)
        except httpx.RequestNotRead:
            length = int(request.headers.get("content-length", "0"))
        w = Wire(
            request.method,
            str(request.url),
            request.headers.get("content-range"),
            length,
            "authorization" in request.headers,
        )
        w.verdict = judge.judge(w)
        pending[id(request)] = w

    async def on_response(response: httpx.Response) -> None:
        w = pending.pop(id(response.request))
        body = await response.aread()
        w.status = response.status_code
        judge.wire.append(w)
        judge.answered(w, body)

    hooks = {"request": [on_request], "response": [on_response]}
    host = urlsplit(base).hostname
    if case.bearer_on_upload:
        # The documented use: the task gets the client's own, authenticated adapter.
        auth = BaseBearerTokenAuthenticationProvider(FixedToken(token, [host]))
    else:
        auth = AnonymousAuthenticationProvider()
    task = LargeFileUploadTask(session, adapter(auth, hooks), io.BytesIO(data), max_chunk_size=case.chunk)

    swallowed = Swallowed()
    logging.getLogger().addHandler(swallowed)
    try:
        result = await task.upload()
        sdk_result = "returned" + (" (no item)" if result.item_response is None else "")
    except Exception as error:  # the SDK's own failure is the finding
        # The SDK's own line that raised or called into what raised.
        frames = traceback.extract_tb(error.__traceback__)
        sdk = [f for f in frames if "msgraph_core" in f.filename] or frames
        status = getattr(error, "response_status_code", None)
        what = f"HTTP {status}" if status else str(error).splitlines()[0][:80]
        sdk_result = (
            f"raised {type(error).__name__} ({what}) at "
            f"{sdk[-1].filename.split('site-packages/')[-1]}:{sdk[-1].lineno} `{sdk[-1].line}`"
        )
    finally:
        logging.getLogger().removeHandler(swallowed)

    files = [f for f in emulator_json(base, "files") if f["path"] == f"me/drive/root:/interop/{name}"]
    want = hashlib.sha256(data).hexdigest()
    if not files:
        stored = "nothing"
    elif files[-1]["sha256"] == want and files[-1]["size"] == case.size:
        stored = "all bytes, SHA-256 equal"
    else:
        stored = "WRONG BYTES"

    disagreements = []
    for w in judge.wire:
        accepted = 200 <= w.status < 300
        if w.verdict == "right" and not accepted:
            disagreements.append(f"right request refused: {w.method} {w.content_range} -> {w.status}")
        if w.verdict != "right" and accepted:
            disagreements.append(f"wrong request accepted: {w.method} {w.content_range} ({w.verdict})")
    if stored == "WRONG BYTES":
        disagreements.append("stored bytes differ from the source")
    return Outcome(case, judge.wire, stored, sdk_result, swallowed.messages, disagreements)


def describe(w: Wire) -> str:
    what = f"{w.method} {w.content_range or ''}".strip()
    what += f" len {w.content_length}" if w.method == "PUT" else ""
    what += " +Authorization" if w.authorization else ""
    return f"{what} → {w.status} ({w.verdict})"


async def main() -> int:
    base, token = sys.argv[1].rstrip("/"), sys.argv[2]
    cases = [
        Case("one-byte", 1, KIB320),
        Case("chunk-minus-1", KIB320 - 1, KIB320),
        Case("chunk", KIB320, KIB320),
        Case("chunk-plus-1", KIB320 + 1, KIB320),
        Case("three-chunks-plus-1", 3 * KIB320 + 1, KIB320),
        Case("default-5MiB-chunks-12MiB", 12 * 1024 * 1024, 5 * 1024 * 1024),
        Case("bearer-on-upload-url", 2 * KIB320, KIB320, bearer_on_upload=True),
    ]
    stats_before = emulator_json(base, "stats")
    outcomes = [await run_case(base, token, case) for case in cases]
    stats_after = emulator_json(base, "stats")

    print(f"msgraph-core {version('msgraph-core')}, "
          f"microsoft-kiota-http {version('microsoft-kiota-http')}, "
          f"microsoft-kiota-abstractions {version('microsoft-kiota-abstractions')}, "
          f"microsoft-kiota-serialization-json {version('microsoft-kiota-serialization-json')}, "
          f"httpx {version('httpx')}, Python {sys.version.split()[0]}\n")
    print("| case | size | chunk | requests on the wire (→ emulator's answer, judgement) "
          "| stored | SDK | logged and swallowed |")
    print("|---|---|---|---|---|---|---|")
    for o in outcomes:
        wire = "<br>".join(describe(w) for w in o.wire) or "none"
        swallowed = "<br>".join(sorted(set(o.swallowed))) or "–"
        print(f"| {o.case.name} | {o.case.size} | {o.case.chunk} | {wire} | {o.stored} "
              f"| {o.sdk_result} | {swallowed} |")
    refusals = {
        code: n - stats_before["refusals"].get(code, 0)
        for code, n in stats_after["refusals"].items()
        if n - stats_before["refusals"].get(code, 0)
    }
    print(f"\n/_emulator/stats: refusals during the run {json.dumps(refusals, sort_keys=True)}, "
          f"fragments {stats_after['requests'].get('fragment', 0) - stats_before['requests'].get('fragment', 0)}, "
          f"files completed {stats_after['files_completed'] - stats_before['files_completed']}")
    sent = sum(1 for o in outcomes for w in o.wire if w.method == "PUT")
    wrong = sum(1 for o in outcomes for w in o.wire if w.verdict != "right")
    print(f"requests judged: {sent} PUTs, {wrong} wrong (all must be refused)")
    disagreements = [f"{o.case.name}: {d}" for o in outcomes for d in o.disagreements]
    for d in disagreements:
        print(f"DISAGREEMENT {d}")
    print("emulator agreed with every judgement" if not disagreements else "")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
