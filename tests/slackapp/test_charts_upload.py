"""Charts render real PNGs and go through the files upload v2 flow of the fake Slack."""

from __future__ import annotations

from datetime import date, timedelta

from slackapp.charts import kpi_trend_png
from slackapp.settings import Settings
from slackapp.slack_upload import upload_png
from slackapp.web_client import make_web_client


def test_png_upload_v2_flow(slack):
    start = date(2026, 10, 5)
    png = kpi_trend_png(
        {
            "nps": [(start + timedelta(weeks=i), 30 + i) for i in range(8)],
            "csat": [(start + timedelta(weeks=i), 80 - i) for i in range(8)],
        },
        "KPIs",
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    client = make_web_client(
        Settings(_env_file=None, slack_bot_token="xoxb-t", slack_api_url=slack.api_url)
    )
    file_id = upload_png(
        client, channel_id="C0LEAD0001", png=png, filename="kpis.png", title="KPI trends"
    )
    assert file_id.startswith("F")
    assert [c.method for c in slack.calls] == [
        "files.getUploadURLExternal",
        "file.upload",
        "files.completeUploadExternal",
    ]
    assert slack.uploads[file_id] == png
    complete = slack.calls_to("files.completeUploadExternal")[0]
    assert complete["channel_id"] == "C0LEAD0001"


def test_empty_chart_is_still_an_image():
    assert kpi_trend_png({}, "Nothing")[:4] == b"\x89PNG"
