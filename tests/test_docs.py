"""The project stands alone: every document that code or docs cite exists, every cited section
heading is in it, and nothing points outside the repository."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", ".git", "var", "node_modules", "__pycache__", ".hypothesis"}
CITATION = re.compile(r"docs/([\w-]+\.md)(?:,\s*\"([^\"]+)\")?")


def _files():
    for path in ROOT.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".md", ".html", ".txt", ".sh", ".ini", ".toml"} \
                and not SKIP & set(path.relative_to(ROOT).parts):
            yield path


def _headings(doc: Path) -> set[str]:
    return {line.lstrip("#").strip() for line in doc.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


def test_every_cited_document_and_section_exists():
    problems = []
    for path in _files():
        # a citation may wrap over two lines inside a docstring or comment
        text = re.sub(r"\n\s*(#\s*)?", " ", path.read_text(encoding="utf-8", errors="replace"))
        for name, heading in CITATION.findall(text):
            doc = ROOT / "docs" / name
            if name.startswith("api"):  # /api/docs/ is a URL, not a file
                continue
            if not doc.is_file():
                problems.append(f"{path.relative_to(ROOT)}: docs/{name} does not exist")
            elif heading and heading not in _headings(doc):
                problems.append(f"{path.relative_to(ROOT)}: docs/{name} has no section \"{heading}\"")
    assert problems == []


def test_nothing_points_outside_the_repository():
    outside = [str(path.relative_to(ROOT)) for path in _files()
               if path.name != "test_docs.py" and re.search(r"\.\./shared|/work/", path.read_text(errors="replace"))]
    assert outside == []
