"""Guess an import profile from a sample file: delimiter, header, mapping, formats."""

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field

SAMPLE_ROWS = 10
# Header words (lower case, any language finance meets) that name each field.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "external_id",
        "id",
        "transaction id",
        "txn id",
        "reference no",
        "流水号",
        "交易流水号",
        "fitid",
        "entry id",
    ),
    "account": ("account", "account number", "iban", "acct", "账号", "帐号", "卡号"),
    "amount": ("amount", "amt", "value", "金额", "交易金额"),
    "debit": ("debit", "withdrawal", "借方", "借方金额", "支出"),
    "credit": ("credit", "deposit", "贷方", "贷方金额", "收入"),
    "currency": ("currency", "ccy", "cur", "币种", "货币"),
    "value_date": (
        "value_date",
        "value date",
        "date",
        "booking date",
        "日期",
        "交易日期",
        "记账日期",
    ),
    "counterparty": (
        "counterparty",
        "payer",
        "name",
        "payer name",
        "对方户名",
        "付款人",
    ),
    "reference": ("reference", "ref", "payment reference", "摘要", "附言", "用途"),
    "description": ("description", "details", "narrative", "memo", "备注", "说明"),
}
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d-%m-%Y",
)
_COMMA_DECIMAL = re.compile(r"^-?[\d. ]*\d,\d{1,3}$")


@dataclass
class Guess:
    """What the sample suggests; finance corrects it before saving."""

    delimiter: str = ","
    header_row: int = 1
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    decimal_separator: str = "."
    thousands_separator: str = ""
    date_format: str = "%Y-%m-%d"
    sign: str = "credit_positive"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower().replace("_", " "))


def _mapping(headers: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    normal = {_norm(h): h for h in headers if h.strip()}
    for name, words in SYNONYMS.items():
        for word in words:
            header = normal.get(_norm(word))
            if header and header not in found.values():
                found[name] = header
                break
    return found


def _column(guess: Guess, name: str) -> list[str]:
    header = guess.columns.get(name)
    if header is None:
        return []
    pos = guess.headers.index(header)
    return [
        row[pos].strip() for row in guess.rows if pos < len(row) and row[pos].strip()
    ]


def _formats(guess: Guess) -> None:
    dates = _column(guess, "value_date")
    for fmt in DATE_FORMATS:
        try:
            for value in dates:
                dt.datetime.strptime(value, fmt)  # noqa: DTZ007
        except ValueError:
            continue
        guess.date_format = fmt
        break
    amounts = [v for n in ("amount", "debit", "credit") for v in _column(guess, n)]
    if amounts and all(_COMMA_DECIMAL.match(v) for v in amounts):
        guess.decimal_separator = ","
        guess.thousands_separator = "." if any("." in v for v in amounts) else ""
    elif any("," in v for v in amounts):
        guess.thousands_separator = ","
    if "debit" in guess.columns and "credit" in guess.columns:
        guess.sign = "columns"
        guess.columns.pop("amount", None)


def _delimiter(sample: str) -> str:
    """The separator that splits most lines into the same number of cells."""
    best = (0, 0, ",")
    for candidate in ",;\t|":
        counts = Counter(line.count(candidate) for line in sample.splitlines())
        counts.pop(0, None)
        if counts:
            count, lines = counts.most_common(1)[0]
            best = max(best, (lines, count, candidate))
    return best[2]


def profile_guess(text: str) -> Guess:
    """Read the first lines of a CSV sample and guess its layout."""
    sample = "\n".join(text.splitlines()[: SAMPLE_ROWS + 20])
    guess = Guess()
    guess.delimiter = _delimiter(sample)
    lines = list(csv.reader(io.StringIO(sample), delimiter=guess.delimiter))
    # The header is the first line that names at least two known fields.
    for number, cells in enumerate(lines, start=1):
        if len(_mapping(cells)) >= 2:
            guess.header_row = number
            break
    header_at = guess.header_row - 1
    guess.headers = [c.strip() for c in lines[header_at]] if lines else []
    guess.rows = [r for r in lines[header_at + 1 :] if any(c.strip() for c in r)][
        :SAMPLE_ROWS
    ]
    guess.columns = _mapping(guess.headers)
    _formats(guess)
    return guess
