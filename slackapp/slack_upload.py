"""Uploading images with Slack's files upload v2 flow (getUploadURLExternal → POST → complete)."""

from __future__ import annotations

from slack_sdk import WebClient


def upload_png(
    client: WebClient,
    *,
    channel_id: str,
    png: bytes,
    filename: str,
    title: str,
    comment: str | None = None,
    thread_ts: str | None = None,
) -> str:
    """Share a PNG in a channel; returns the file id."""
    kwargs = {"channel": channel_id, "content": png, "filename": filename, "title": title}
    if comment:
        kwargs["initial_comment"] = comment
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    resp = client.files_upload_v2(**kwargs)
    files = resp.get("files") or [resp.get("file") or {}]
    return files[0].get("id", "")
