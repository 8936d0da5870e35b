"""Chinese by default, English on request: the locale/en catalogue is complete and compiled."""
import ast
import re

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.html import escape

from accounts.models import Role
from accounts.views import HOME_TILES

PO_PATH = settings.BASE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\([^)]+\)[sd]|%%|\{[^}]*\}")


def parse_po(path):
    """A tiny .po reader: one dict per entry with its #, flags, msgid, msgid_plural, msgstr, msgstr[n]."""
    entries, entry, key = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


@pytest.fixture(scope="module")
def po_entries():
    entries = parse_po(PO_PATH)
    assert entries[0]["msgid"] == ""  # the header
    return entries[1:]


def test_every_entry_has_an_english_translation(po_entries):
    assert len(po_entries) > 400
    untranslated = [e["msgid"] for e in po_entries
                    if not all(v for k, v in e.items() if k.startswith("msgstr"))]
    assert untranslated == []
    assert [e["msgid"] for e in po_entries if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in po_entries if e.get("obsolete")] == []


def test_plural_entries_have_both_forms(po_entries):
    plurals = [e for e in po_entries if "msgid_plural" in e]
    assert plurals
    for entry in plurals:
        assert entry["msgstr[0]"] and entry["msgstr[1]"], entry["msgid"]


def test_translations_keep_every_placeholder(po_entries):
    for entry in po_entries:
        wanted = sorted(PLACEHOLDER.findall(entry["msgid"]))
        for key, value in entry.items():
            if key.startswith("msgstr"):
                assert sorted(PLACEHOLDER.findall(value)) == wanted, (entry["msgid"], value)


def test_header_declares_english_utf8_and_plural_forms():
    header = parse_po(PO_PATH)[0]
    assert "fuzzy" not in header["flags"]
    assert "Language: en\n" in header["msgstr"]
    assert "charset=UTF-8" in header["msgstr"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"]


def test_compiled_catalogue_matches_the_po(po_entries):
    """django.mo is compiled from the current django.po (run compilemessages after editing)."""
    assert MO_PATH.exists()
    with translation.override("en"):
        for entry in po_entries:
            if "msgid_plural" in entry:
                assert translation.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr[0]"]
                assert translation.ngettext(entry["msgid"], entry["msgid_plural"], 5) == entry["msgstr[1]"]
            elif "msgctxt" in entry:
                assert translation.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"], entry["msgid"]
            else:
                assert translation.gettext(entry["msgid"]) == entry["msgstr"], entry["msgid"]


def test_every_home_tile_label_is_in_the_catalogue(po_entries):
    msgids = {e["msgid"] for e in po_entries}
    labels = {label for tiles in HOME_TILES.values() for _url, label in tiles}
    assert labels - msgids == set()


def test_login_page_is_chinese_by_default(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "登录" in html
    assert "用户名" in html
    assert "Log in" not in html


def test_login_page_is_english_after_choosing_english(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get("/login/").content.decode()
    assert 'lang="en"' in html
    assert "Log in" in html
    assert "Username" in html
    assert "Password" in html
    assert "登录" not in html
    # and back to Chinese
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录" in client.get("/login/").content.decode()


def test_home_in_english_shows_english_tiles(client, clerk):
    client.force_login(clerk)
    chinese = client.get("/").content.decode()
    assert "家庭户查询" in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for title in ("Household search", "New household", "Roster import", "Participation rate",
                  "Enter inpatient claim", "Search inpatient claims"):
        assert f">{title}</a>" in html
    for chinese_title in ("家庭户查询", "新建家庭户", "花名册导入", "参合率", "住院补偿录入", "住院补偿查询"):
        assert chinese_title not in html
    assert "Township clerk" in html  # the role
    assert "Log out" in html


@pytest.mark.parametrize("role", list(Role))
def test_every_role_home_is_fully_english(client, users_by_role, role):
    client.force_login(users_by_role[role])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    with translation.override("en"):
        for _url, label in HOME_TILES.get(role, []):
            assert label not in html
            assert escape(translation.gettext(label)) in html


# The names makemessages looks for in Python (Django's xgettext keywords): a translation function
# imported under another name is never collected, and its strings stay Chinese in English.
XGETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext",
                  "pgettext_lazy", "npgettext", "npgettext_lazy"}


def _python_sources():
    for path in sorted(settings.BASE_DIR.rglob("*.py")):
        relative = path.relative_to(settings.BASE_DIR)
        if relative.parts[0] in {".venv", "var", "node_modules"} or relative.parts[0].startswith("."):
            continue
        yield relative, ast.parse(path.read_text(encoding="utf-8"))


def test_translation_functions_are_imported_under_names_makemessages_collects():
    aliased = []
    for relative, tree in _python_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                aliased += [f"{relative}: {alias.name} as {alias.asname}" for alias in node.names
                            if alias.asname and alias.asname not in XGETTEXT_NAMES]
    assert aliased == []


def test_no_translated_text_is_written_inside_an_f_string():
    """xgettext reads no call inside an f-string's braces: its text would never reach the catalogue."""
    hidden = []
    for relative, tree in _python_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                hidden += [f"{relative}:{call.lineno}" for call in ast.walk(node)
                           if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                           and call.func.id in XGETTEXT_NAMES]
    assert hidden == []
