"""A fake Google OAuth token endpoint and Sheets API v4 served over real HTTP on localhost.

It answers like Google does where the sync depends on it:
- `POST /token` checks the service account's signed JWT (RS256, the key we registered);
- `GET /v4/spreadsheets/{id}` gives properties (title, locale) and the worksheet titles;
- `GET /v4/spreadsheets/{id}/values:batchGet` honours `valueRenderOption`
  (FORMATTED_VALUE: the text a person sees; UNFORMATTED_VALUE: raw numbers), drops trailing
  empty cells of each row and trailing empty rows (ragged rows), omits `values` for an empty
  sheet, and rejects an unknown worksheet like Google ("Unable to parse range");
- errors use Google's JSON error body; 403 when the sheet is not shared with the caller's
  service account; injectable 429 bursts and 5xx.
Every request is counted in `requests` as (kind, path).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
EPOCH = date(1899, 12, 30)
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # what google-auth signs for


@dataclass
class Cell:
    """A cell's raw (unformatted) value and the text it shows (formatted)."""

    raw: Any
    shown: str


def _shown_number(n: float, decimal_comma: bool) -> str:
    text = f"{n:,.2f}" if not float(n).is_integer() else f"{int(n):,}"
    if decimal_comma:
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def pct(fraction: float, decimals: int = 0, *, decimal_comma: bool = False) -> Cell:
    """A percent-formatted number: raw 0.12 shows `12%`."""
    shown = f"{fraction * 100:.{decimals}f}%"
    return Cell(fraction, shown.replace(".", ",") if decimal_comma else shown)


def money(amount: float, symbol: str = "$", *, decimal_comma: bool = False) -> Cell:
    text = f"{abs(amount):,.2f}"
    if decimal_comma:
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        shown = f"{text} {symbol}"
    else:
        shown = f"{symbol}{text}"
    return Cell(amount, ("-" if amount < 0 else "") + shown)


def date_cell(day: date, pattern: str = "%m/%d/%Y") -> Cell:
    """A date-formatted cell: raw is the serial number, shown the locale's date text."""
    return Cell((day - EPOCH).days, day.strftime(pattern))


def number(n: float, *, decimal_comma: bool = False) -> Cell:
    return Cell(n, _shown_number(n, decimal_comma))


def error(code: str = "#DIV/0!") -> Cell:
    return Cell(code, code)


@dataclass
class FakeSpreadsheet:
    id: str
    title: str = "Loyalty KPIs"
    locale: str = "en_US"
    sheets: dict[str, list[list[Any]]] = field(default_factory=dict)
    shared_with: set[str] | None = None  # None: every registered service account


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGoogle:
    def __init__(self) -> None:
        self.spreadsheets: dict[str, FakeSpreadsheet] = {}
        self.keys: dict[str, Any] = {}  # client_email -> public key
        self.tokens: dict[str, str] = {}  # access token -> client_email
        self.requests: list[tuple[str, str]] = []
        self.faults: list[list] = []  # [kind, status, times, retry_after]
        self.token_refusal: str | None = None
        self.latency = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def sheets_url(self) -> str:
        return f"{self.url}/v4/spreadsheets"

    def start(self) -> FakeGoogle:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ set-up helpers
    def service_account_file(
        self, directory: Path, email: str = "loyalty-sync@demo.iam.gserviceaccount.com"
    ) -> Path:
        """Write a real service account key (fresh RSA key) whose token_uri is this fake."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.keys[email] = private.public_key()
        info = {
            "type": "service_account",
            "project_id": "demo",
            "private_key_id": uuid.uuid4().hex,
            "private_key": pem,
            "client_email": email,
            "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.url}/token",
        }
        path = Path(directory) / "service-account.json"
        path.write_text(json.dumps(info), encoding="utf-8")
        return path

    def add_spreadsheet(self, sheet_id: str = "SHEET123", **kwargs) -> FakeSpreadsheet:
        book = FakeSpreadsheet(id=sheet_id, **kwargs)
        self.spreadsheets[sheet_id] = book
        return book

    def fail(
        self, kind: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` requests of kind (`token`, `get`, `batchGet`) with status."""
        self.faults.append([kind, status, times, retry_after])

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.requests if k == kind)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ behaviour
    def _fault(self, kind: str):
        with self._lock:
            for fault in self.faults:
                if fault[0] == kind and fault[2] > 0:
                    fault[2] -= 1
                    return fault
        return None

    def _token(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type",
            }
        if self.token_refusal:
            return 400, {"error": "invalid_grant", "error_description": self.token_refusal}
        try:
            header_b64, claims_b64, sig_b64 = form["assertion"].split(".")
            claims = json.loads(_b64url_decode(claims_b64))
            public = self.keys[claims["iss"]]
            public.verify(
                _b64url_decode(sig_b64),
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (KeyError, ValueError, InvalidSignature):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        if (
            claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, f"{self.url}/token")
            or claims.get("exp", 0) < time.time()
        ):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: aud or exp."}
        token = "ya29.fake-" + uuid.uuid4().hex
        self.tokens[token] = claims["iss"]
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    @staticmethod
    def _error(status: int, message: str) -> tuple[int, dict]:
        return status, {
            "error": {
                "code": status,
                "message": message,
                "status": STATUS_NAMES.get(status, "UNKNOWN"),
            }
        }

    def _caller(self, headers) -> str | None:
        auth = headers.get("Authorization", "")
        return self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

    def _sheets(self, path: str, query: dict[str, list[str]], headers) -> tuple[int, dict]:
        rest = path[len("/v4/spreadsheets/") :]
        batch = rest.endswith("/values:batchGet") or "/values/" in rest
        sheet_id = unquote(rest.split("/")[0])
        caller = self._caller(headers)
        if caller is None:
            return self._error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        book = self.spreadsheets.get(sheet_id)
        if book is None:
            return self._error(404, "Requested entity was not found.")
        if book.shared_with is not None and caller not in book.shared_with:
            return self._error(403, "The caller does not have permission")
        if not batch:
            return 200, {
                "spreadsheetId": book.id,
                "properties": {"title": book.title, "locale": book.locale, "timeZone": "Etc/GMT"},
                "sheets": [
                    {"properties": {"sheetId": i, "title": t, "index": i, "sheetType": "GRID"}}
                    for i, t in enumerate(book.sheets)
                ],
            }
        render = (query.get("valueRenderOption") or ["FORMATTED_VALUE"])[0]
        if "/values/" in rest:  # values.get of one range (what a naive per-row reader calls)
            rng = unquote(rest.split("/values/", 1)[1])
            return self._single_range(book, rng, render)
        out = []
        for rng in query.get("ranges", []):
            title = rng.split("!")[0]
            if title.startswith("'") and title.endswith("'"):
                title = title[1:-1].replace("''", "'")
            if title not in book.sheets:
                return self._error(400, f"Unable to parse range: {rng}")
            out.append(self._value_range(title, book.sheets[title], render))
        return 200, {"spreadsheetId": book.id, "valueRanges": out}

    def _single_range(self, book: FakeSpreadsheet, rng: str, render: str) -> tuple[int, dict]:
        title, _, cells = rng.partition("!")
        if title.startswith("'") and title.endswith("'"):
            title = title[1:-1].replace("''", "'")
        m = re.fullmatch(r"[A-Z]+(\d+):[A-Z]+(\d+)", cells)
        if title not in book.sheets or not m:
            return self._error(400, f"Unable to parse range: {rng}")
        first, last = int(m[1]) - 1, int(m[2])
        body = self._value_range(title, book.sheets[title][first:last], render)
        body["range"] = rng
        return 200, body

    @staticmethod
    def _render(cell: Any, render: str) -> Any:
        if isinstance(cell, Cell):
            return cell.shown if render == "FORMATTED_VALUE" else cell.raw
        if cell is None:
            return ""
        if isinstance(cell, bool):
            return ("TRUE" if cell else "FALSE") if render == "FORMATTED_VALUE" else cell
        if isinstance(cell, int | float):
            return _shown_number(cell, False) if render == "FORMATTED_VALUE" else cell
        return str(cell)

    def _value_range(self, title: str, grid: list[list[Any]], render: str) -> dict:
        rows = []
        for row in grid:
            cells = [self._render(c, render) for c in row]
            while cells and cells[-1] == "":
                cells.pop()  # the API drops trailing empty cells…
            rows.append(cells)
        while rows and not rows[-1]:
            rows.pop()  # …and trailing empty rows
        width = max((len(r) for r in rows), default=0)
        quoted = title if title.replace("_", "").isalnum() else "'" + title.replace("'", "''") + "'"
        last_col = ""
        n = max(width, 1)
        while n:
            n, rem = divmod(n - 1, 26)
            last_col = chr(65 + rem) + last_col
        body: dict[str, Any] = {
            "range": f"{quoted}!A1:{last_col}{max(len(rows), 1)}",
            "majorDimension": "ROWS",
        }
        if rows:
            body["values"] = rows
        return body

    # ------------------------------------------------------------------ HTTP
    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # keep-alive + Nagle would add ~40 ms per answer

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, extra: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, kind: str, answer) -> None:
                with fake._lock:
                    fake.requests.append((kind, self.path))
                if fake.latency:
                    time.sleep(fake.latency)
                fault = fake._fault(kind)
                if fault:
                    status = fault[1]
                    extra = {"Retry-After": str(fault[3])} if fault[3] is not None else {}
                    if kind == "token":
                        return self._send(status, {"error": "internal_failure"}, extra)
                    message = (
                        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests "
                        "per minute per user' of service 'sheets.googleapis.com'."
                        if status == 429
                        else "Internal error encountered."
                    )
                    return self._send(*FakeGoogle._error(status, message), extra)
                status, body = answer()
                self._send(status, body)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if urlparse(self.path).path != "/token":
                    return self._send(*FakeGoogle._error(404, "Not found"))
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                self._dispatch("token", lambda: fake._token(form))

            def do_GET(self):  # noqa: N802
                parsed = urlparse(self.path)
                if not parsed.path.startswith("/v4/spreadsheets/"):
                    return self._send(*FakeGoogle._error(404, "Not found"))
                kind = "get"
                if parsed.path.endswith("/values:batchGet"):
                    kind = "batchGet"
                elif "/values/" in parsed.path:
                    kind = "values.get"
                query = parse_qs(parsed.query, keep_blank_values=True)
                self._dispatch(kind, lambda: fake._sheets(parsed.path, query, self.headers))

        return Handler
