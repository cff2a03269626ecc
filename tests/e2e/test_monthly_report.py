"""The monthly feedback report (客户反馈分析报告) through the gateway: an admin builds last
month's report, it is listed and downloaded, and the admins and managers receive it by
email from a real SMTP server with the PDF attached."""
import hashlib
import io
from datetime import datetime, timedelta, timezone

import pypdf
import pytest

from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

MONTHLY = "/api/v1/reports/monthly"


def last_month() -> str:
    first = datetime.now(timezone.utc).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def test_last_months_report_is_built_listed_downloaded_and_mailed_with_the_pdf(stack, smtp):
    manager = stack.user("manager")
    admin, sales = stack.admin(), stack.user("sales")
    month = last_month()

    built = admin.post(f"{MONTHLY}/{month}")
    assert built.status_code == 200, built.text
    report = built.json()
    assert (report["month"], report["complete"]) == (month, True)
    assert admin.post(f"{MONTHLY}/{month}").json() == report  # built once

    assert report in sales.get(MONTHLY).json()
    download = sales.get(f"{MONTHLY}/{month}")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{report["filename"]}"'
    assert hashlib.sha256(download.content).hexdigest() == report["sha256"]
    text = "\n".join(page.extract_text()
                     for page in pypdf.PdfReader(io.BytesIO(download.content)).pages)
    assert "客户反馈分析报告" in text and month in text

    (mail,) = wait_until(lambda: [m for m in smtp.messages(f"{manager.username}@example.com")
                                  if month in m["Subject"]], timeout=60)
    assert "客户反馈分析报告" in mail["Subject"]
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == report["filename"]
    assert attached.get_content_type() == "application/pdf"
    assert hashlib.sha256(attached.get_content()).hexdigest() == report["sha256"]


@pytest.mark.parametrize("month, status", [("2999-01", 422), ("2026-13", 422), ("soon", 422)])
def test_months_not_begun_or_malformed_are_refused(stack, month, status):
    assert stack.admin().post(f"{MONTHLY}/{month}").status_code == status


def test_only_admins_build_and_a_report_not_built_is_not_found(stack):
    sales = stack.user("sales")
    assert sales.post(f"{MONTHLY}/2020-01").status_code == 403
    assert sales.get(f"{MONTHLY}/2020-02").status_code == 404
    assert stack.user("support").get(MONTHLY).status_code == 403
