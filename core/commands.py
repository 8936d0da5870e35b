"""What the management commands that read a file share: reading it, and listing a refused file's
rows on stderr (docs/contract.md, "Exit codes and error messages")."""
from pathlib import Path

from django.core.management.base import CommandError

from core.tabular import errors_summary


def file_bytes(file: str) -> tuple[Path, bytes]:
    """The named file and its bytes; CommandError in a clerk's words when it cannot be read."""
    path = Path(file)
    if not path.is_file():
        raise CommandError(f"找不到文件：{file}")
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise CommandError(f"无法读取文件：{file}（{exc.strerror}）") from exc


def file_refused(stderr, refusal, *, limit: int | None = None) -> CommandError:
    """Write every bad row of a refused file to stderr (one line each, as the contract words them)
    and return the command's error: the summary line, which says how many there were and, when
    one kind of mistake repeats, how many of each kind (column and reason) and on which rows first.
    `limit` (asked for on the command line; the contract lists every row) stops the list after
    that many lines, saying how many more there are."""
    shown = refusal.errors if limit is None else refusal.errors[:limit]
    for error in shown:
        stderr.write(str(error))
    if len(shown) < len(refusal.errors):
        stderr.write(f"……另有{len(refusal.errors) - len(shown)}处错误未逐行列出")
    summary = errors_summary(refusal.errors, repeats_only=True)
    summary = f"；{summary}" if summary else ""
    return CommandError(f"{refusal.message}（共{len(refusal.errors)}处错误{summary}）")
