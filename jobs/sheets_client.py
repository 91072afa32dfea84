"""Reading the KPI spreadsheet with gspread and a Google service account.

One sync costs exactly two requests: the spreadsheet metadata (title, locale, worksheet
names) and ONE `values:batchGet` for every configured worksheet plus the praise and feedback
worksheets.

gspread builds its URLs from constants in `gspread.urls`; rather than patching them, we pass
gspread a `http_client` class (its documented extension point, see `gspread.Client`) that
rebases every Sheets URL onto GOOGLE_SHEETS_API_URL and retries 429/5xx with bounded backoff
(tenacity).
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import gspread
import requests
from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
from google.oauth2.service_account import Credentials
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEETS_API_V4_BASE_URL
from gspread.utils import extract_id_from_url
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from jobs.sheet_values import sheet_ref

log = logging.getLogger(__name__)

READONLY_SCOPES = ["https://www.googleapis.com/auth/spreadsheets.readonly"]
RETRY_STATUSES = {429, 500, 502, 503, 504}


class SheetsError(Exception):
    """A sync that cannot read the sheet; str() is one line saying what to fix."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: 1, 2, 4, 8, 16, 16… seconds, at most `budget` seconds in all."""

    first: float = 1.0
    factor: float = 2.0
    longest: float = 16.0
    budget: float = 60.0

    def delays(self) -> list[float]:
        out, delay, total = [], self.first, 0.0
        while total + delay <= self.budget + 1e-9:
            out.append(delay)
            total += delay
            delay = min(delay * self.factor, self.longest)
        return out


@dataclass
class SheetData:
    spreadsheet_id: str
    title: str
    locale: str | None
    worksheets: dict[str, list[list[Any]]]  # configured worksheet -> rows
    praise: list[list[Any]] | None  # None when the spreadsheet has no praise worksheet
    praise_title: str | None = None
    # The customer-feedback worksheet (jobs/feedback_sync.py), None when there is none.
    feedback: list[list[Any]] | None = None
    feedback_title: str | None = None
    requests: int = 0  # HTTP requests made to the Sheets API (retries included)
    titles: list[str] = field(default_factory=list)


def spreadsheet_id(key_or_url: str) -> str:
    text = key_or_url.strip()
    if text.startswith("http://") or text.startswith("https://"):
        try:
            return extract_id_from_url(text)
        except gspread.exceptions.NoValidUrlKeyFound:
            raise SheetsError(
                f"KPI_SPREADSHEET `{text}` is not a Google Sheets URL; paste the sheet's address "
                "or just its key (the long id between /d/ and /edit)"
            ) from None
    return text


def _retryable(exc: BaseException) -> bool:
    """Rate limits, server errors and dropped connections; anything else will not improve."""
    if isinstance(exc, APIError):
        return exc.response.status_code in RETRY_STATUSES
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


def _retry_after(exc: BaseException | None) -> float:
    """Seconds Google asked us to wait (`Retry-After: 30`), or 0."""
    if isinstance(exc, APIError):
        value = exc.response.headers.get("Retry-After", "")
        if value.isdigit():
            return float(value)
    return 0.0


def _retrying(policy: RetryPolicy, sleep) -> Retrying:
    """Exponential backoff as `policy` plans it, stretched to a Retry-After (up to the longest
    step), with up to 10% jitter so that several processes do not retry in step; the last
    failure is raised as it came."""
    backoff = wait_exponential(multiplier=policy.first, exp_base=policy.factor, max=policy.longest)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = max(backoff(state), min(_retry_after(exc), policy.longest))
        return delay * (1 + random.random() * 0.1)

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = exc.response.status_code if isinstance(exc, APIError) else type(exc).__name__
        delay = state.next_action.sleep if state.next_action else 0.0
        log.info("Sheets API answered %s; retrying in %.1fs", status, delay)

    return Retrying(
        retry=retry_if_exception(_retryable),
        wait=wait,
        stop=stop_after_attempt(len(policy.delays()) + 1),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )


def _http_client_class(base_url: str, policy: RetryPolicy, sleep):
    base = base_url.rstrip("/")

    class RebasedHTTPClient(gspread.HTTPClient):
        """gspread's HTTP client pointed at `base` with retries; counts what it sends."""

        requests_made = 0

        def request(self, method, endpoint, *args, **kwargs):  # noqa: ANN001
            if endpoint.startswith(SPREADSHEETS_API_V4_BASE_URL):
                endpoint = base + endpoint[len(SPREADSHEETS_API_V4_BASE_URL) :]

            def send():
                type(self).requests_made += 1
                return super(RebasedHTTPClient, self).request(method, endpoint, *args, **kwargs)

            return _retrying(policy, sleep)(send)

    return RebasedHTTPClient


class ServiceAccountCredentials(Credentials):
    """google-auth's service account credentials, minus one call for non-Google hosts.

    Recent google-auth versions look up a "regional access boundary" at
    iamcredentials.googleapis.com after each token refresh. With a private Sheets endpoint or
    a local fake that call goes to the public internet for nothing, so it is made only when
    the request itself goes to a googleapis.com host.
    """

    def _maybe_start_regional_access_boundary_refresh(self, request, url):  # noqa: ANN001
        host = urlparse(url).hostname or ""
        if host == "googleapis.com" or host.endswith(".googleapis.com"):
            super()._maybe_start_regional_access_boundary_refresh(request, url)


def _credentials(path: str | None) -> Credentials:
    if not path:
        raise SheetsError(
            "GOOGLE_SERVICE_ACCOUNT_FILE is not set: point it at the service account's JSON key"
        )
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except FileNotFoundError:
        raise SheetsError(f"GOOGLE_SERVICE_ACCOUNT_FILE `{path}` does not exist") from None
    except (OSError, ValueError) as exc:
        raise SheetsError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE `{path}` is not a JSON key file ({exc})"
        ) from None
    if info.get("type") != "service_account":
        raise SheetsError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE `{path}` is not a service account key "
            "(its `type` should be `service_account`)"
        )
    try:
        # from_service_account_info keeps the file's token_uri (private endpoints, fakes).
        return ServiceAccountCredentials.from_service_account_info(info, scopes=READONLY_SCOPES)
    except (ValueError, KeyError) as exc:
        raise SheetsError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE `{path}` is not a usable key: {exc}"
        ) from None


def _google_message(exc: APIError) -> str:
    msg = str(exc.error.get("message") or "").strip().splitlines()
    return msg[0] if msg else f"HTTP {exc.response.status_code}"


def _explain(exc: Exception, *, key: str, email: str, during: str) -> SheetsError:
    if isinstance(exc, APIError):
        status = exc.response.status_code
        if status in (401,):
            return SheetsError(
                f"Google rejected the service account's token ({_google_message(exc)}); "
                "check GOOGLE_SERVICE_ACCOUNT_FILE"
            )
        if status == 403:
            return SheetsError(
                f"The spreadsheet `{key}` is not shared with the service account: open it, "
                f"click Share and add {email} as a Viewer ({_google_message(exc)})"
            )
        if status == 404:
            return SheetsError(
                f"Spreadsheet `{key}` was not found; check KPI_SPREADSHEET ({_google_message(exc)})"
            )
        if status in RETRY_STATUSES:
            return SheetsError(
                f"Google Sheets kept answering {status} while {during} "
                f"({_google_message(exc)}); gave up after retrying with backoff, "
                "the next sync will try again"
            )
        return SheetsError(f"Google Sheets refused {during}: HTTP {status} {_google_message(exc)}")
    if isinstance(exc, RefreshError):
        first = str(exc.args[0] if exc.args else exc).splitlines()[0][:200]
        if getattr(exc, "retryable", False):
            return SheetsError(
                f"Google's token endpoint is unavailable ({first}); the next sync will try again"
            )
        return SheetsError(
            f"Google refused the service account key {email} ({first}); "
            "check GOOGLE_SERVICE_ACCOUNT_FILE or create a new key"
        )
    if isinstance(exc, requests.RequestException | TransportError):
        return SheetsError(f"Could not reach Google Sheets while {during}: {type(exc).__name__}")
    if isinstance(exc, GoogleAuthError):
        return SheetsError(f"Google authentication failed: {exc}")
    return SheetsError(f"Reading the spreadsheet failed while {during}: {exc}")


def _find_title(titles: list[str], wanted: str) -> str | None:
    if wanted in titles:
        return wanted
    folded = {t.strip().casefold(): t for t in titles}
    return folded.get(wanted.strip().casefold())


def _rows_of(value_range: dict) -> list[list[Any]]:
    """Rows aligned to A1: the API starts a whole-sheet range at A1 and drops trailing blanks."""
    return [list(r) for r in value_range.get("values", [])]


def fetch_sheet(
    *,
    service_account_file: str | None,
    spreadsheet: str | None,
    worksheets: list[str],
    praise_worksheet: str | None,
    api_url: str,
    retry: RetryPolicy | None = None,
    sleep=time.sleep,
    timeout: float = 30.0,
    feedback_worksheet: str | None = None,
) -> SheetData:
    """Metadata + one batchGet. Raises SheetsError with a one-line reason."""
    if not spreadsheet:
        raise SheetsError("KPI_SPREADSHEET is not set: give the spreadsheet's URL or key")
    key = spreadsheet_id(spreadsheet)
    creds = _credentials(service_account_file)
    email = creds.service_account_email
    http_cls = _http_client_class(api_url, retry or RetryPolicy(), sleep)
    client = gspread.Client(auth=creds, http_client=http_cls)
    client.set_timeout(timeout)
    http = client.http_client
    meta = _metadata(http, key=key, email=email)
    titles = [s.get("properties", {}).get("title", "") for s in meta.get("sheets", [])]
    props = meta.get("properties", {})
    chosen = _chosen_worksheets(titles, worksheets, spreadsheet=props.get("title", key))
    praise_title = _find_title(titles, praise_worksheet) if praise_worksheet else None
    if praise_title in chosen:
        praise_title = None
    ranges = [sheet_ref(t) for t in chosen] + ([sheet_ref(praise_title)] if praise_title else [])
    # The feedback worksheet, when the spreadsheet has one, rides in the same batchGet.
    feedback_title = _find_title(titles, feedback_worksheet) if feedback_worksheet else None
    if feedback_title in chosen or feedback_title == praise_title:
        feedback_title = None
    if feedback_title:
        ranges.append(sheet_ref(feedback_title))
    value_ranges = _batch_get(http, key=key, email=email, ranges=ranges)
    data = SheetData(
        spreadsheet_id=key,
        title=props.get("title", key),
        locale=props.get("locale"),
        worksheets={t: _rows_of(vr) for t, vr in zip(chosen, value_ranges, strict=False)},
        praise=_rows_of(value_ranges[len(chosen)]) if praise_title else None,
        praise_title=praise_title,
        feedback=_rows_of(value_ranges[-1]) if feedback_title else None,
        feedback_title=feedback_title,
        requests=http_cls.requests_made,
        titles=titles,
    )
    return data


def _metadata(http, *, key: str, email: str) -> dict:
    """The spreadsheet's title, locale and worksheet names (one request)."""
    try:
        return http.fetch_sheet_metadata(
            key,
            params={
                "includeGridData": "false",
                "fields": "properties(title,locale),sheets.properties.title",
            },
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
        raise _explain(exc, key=key, email=email, during="opening the spreadsheet") from exc


def _chosen_worksheets(titles: list[str], worksheets: list[str], *, spreadsheet: str) -> list[str]:
    """The configured worksheets' real titles, each once; a missing one stops the sync."""
    chosen: list[str] = []
    for name in worksheets:
        title = _find_title(titles, name)
        if title is None:
            raise SheetsError(
                f"Worksheet `{name}` not found in spreadsheet `{spreadsheet}` "
                f"(it has: {', '.join(titles) or 'no worksheets'}); fix KPI_WORKSHEETS or rename the tab"
            )
        if title not in chosen:
            chosen.append(title)
    return chosen


def _batch_get(http, *, key: str, email: str, ranges: list[str]) -> list[dict]:
    """Every range in one values:batchGet, in the order asked."""
    try:
        body = http.values_batch_get(
            key,
            ranges,
            params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
        )
    except Exception as exc:  # noqa: BLE001
        raise _explain(exc, key=key, email=email, during="reading the worksheets") from exc
    value_ranges = body.get("valueRanges", [])
    if len(value_ranges) != len(ranges):
        raise SheetsError(
            f"Google Sheets returned {len(value_ranges)} ranges for {len(ranges)} requested"
        )
    return value_ranges
