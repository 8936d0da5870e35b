"""Argument parsing shared by the fund's commands: errors in words a clerk understands."""
from datetime import date

from django.core.management.base import CommandError


def parse_year(text: str) -> int:
    try:
        year = int(text)
    except (TypeError, ValueError):
        raise CommandError(f"--year「{text}」不是有效的年度") from None
    if not 2000 <= year <= 2100:
        raise CommandError(f"--year「{text}」不是有效的年度")
    return year


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CommandError(f"--date「{text}」不是有效的日期，应为 YYYY-MM-DD") from None
