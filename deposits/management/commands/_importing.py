"""Shared plumbing for the import commands: open the file, report, exit non-zero."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from deposits.services.imports import ImportRefused, ImportResult


def run_import(
    command: Any, path: str, action: Callable[..., ImportResult], **kwargs: Any
) -> None:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{path}: no such file")
    with file.open("rb") as source:
        try:
            result = action(source=source, file_name=file.name, **kwargs)
        except ImportRefused as exc:
            for error in exc.errors:
                command.stderr.write(f"{file.name}: {error}")
            raise CommandError(
                f"{len(exc.errors)} bad row(s); nothing was imported."
            ) from None
    for warning in result.warnings:
        command.stderr.write(f"warning: {warning}")
    command.stdout.write(
        f"created {result.created}, updated {result.updated}, skipped {result.skipped}"
    )
