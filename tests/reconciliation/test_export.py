import pytest

from reconciliation.export import EXPORT_COLUMNS, cell_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+44 20", "'+44 20"),
        ("-cmd", "'-cmd"),
        ("@import", "'@import"),
        ("\tR-1", "'\tR-1"),
        ("\rR-1", "'\rR-1"),
        ("-18.00", "-18.00"),
        ("R-1 R-2", "R-1 R-2"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert cell_safe(value) == expected


def test_the_export_columns_are_designs():
    assert ",".join(EXPORT_COLUMNS) == (
        "outcome,kind,receipt_numbers,external_ids,manual_amount,system_amount,"
        "difference,score,status"
    )
