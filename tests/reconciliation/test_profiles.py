import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outage_desk.models import AuditEvent
from reconciliation.models import ImportProfile
from reconciliation.profiles import profile_guess

pytestmark = pytest.mark.django_db

CHINA = (
    "导出文件\n"
    "流水号;账号;借方;贷方;日期;对方户名;摘要\n"
    "A1;6222001;;1.234,50;02.03.2026;张三;存款\n"
    "A2;6222001;12,00;;03.03.2026;手续费;\n"
)


def test_the_guess_reads_delimiter_header_mapping_and_formats():
    guess = profile_guess(CHINA)

    assert (guess.delimiter, guess.header_row) == (";", 2)
    assert guess.columns == {
        "external_id": "流水号",
        "account": "账号",
        "debit": "借方",
        "credit": "贷方",
        "value_date": "日期",
        "counterparty": "对方户名",
        "reference": "摘要",
    }
    assert (guess.decimal_separator, guess.thousands_separator) == (",", ".")
    assert (guess.date_format, guess.sign) == ("%d.%m.%Y", "columns")
    assert guess.rows[0] == [
        "A1",
        "6222001",
        "",
        "1.234,50",
        "02.03.2026",
        "张三",
        "存款",
    ]


def test_a_sample_shows_its_rows_and_the_guessed_mapping(client, finance):
    client.force_login(finance)
    sample = SimpleUploadedFile("bank.csv", CHINA.encode("gbk"))

    response = client.post(
        "/reconciliation/profiles/new/", {"sample": sample, "encoding": "gbk"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "1.234,50" in html
    assert '<option value="流水号" selected>' in html
    assert 'value="%d.%m.%Y"' in html


def test_a_sample_in_the_wrong_encoding_is_refused(client, finance):
    client.force_login(finance)
    sample = SimpleUploadedFile("bank.csv", CHINA.encode("gbk"))

    response = client.post(
        "/reconciliation/profiles/new/", {"sample": sample, "encoding": "utf-8-sig"}
    )

    assert "The sample is not valid utf-8-sig text" in response.content.decode()


def form_data(**changes):
    data = {
        "name": "China bank",
        "encoding": "gbk",
        "delimiter": ";",
        "header_row": "2",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "date_format": "%d.%m.%Y",
        "sign": "columns",
        "default_currency": "cny",
        "headers": json.dumps(["流水号", "账号", "借方", "贷方", "日期"]),
        "col_external_id": "流水号",
        "col_account": "账号",
        "col_debit": "借方",
        "col_credit": "贷方",
        "col_value_date": "日期",
    }
    data.update(changes)
    return data


def test_finance_saves_the_corrected_profile(client, finance):
    client.force_login(finance)

    response = client.post("/reconciliation/profiles/save/", form_data())

    assert response.status_code == 302
    profile = ImportProfile.objects.get()
    assert profile.columns == {
        "external_id": "流水号",
        "account": "账号",
        "debit": "借方",
        "credit": "贷方",
        "value_date": "日期",
    }
    assert (profile.default_currency, profile.sign, profile.header_row) == (
        "CNY",
        "columns",
        2,
    )
    assert AuditEvent.objects.get(action="reconciliation.profile_created")


def test_a_profile_without_the_needed_columns_is_not_saved(client, finance):
    client.force_login(finance)

    response = client.post(
        "/reconciliation/profiles/save/", form_data(col_credit="", default_currency="")
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose the column that holds “credit”." in html
    assert "Choose the column that holds “currency”." in html
    assert ImportProfile.objects.count() == 0


def test_a_clerk_cannot_make_profiles(client, clerk):
    client.force_login(clerk)

    assert client.get("/reconciliation/profiles/new/").status_code == 403
    assert client.post("/reconciliation/profiles/save/", form_data()).status_code == 403
    assert ImportProfile.objects.count() == 0
