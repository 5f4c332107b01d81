"""The gettext catalogues: complete in English, compiled, and up to date with the code.

The msgids are Simplified Chinese. After adding or changing text, run ``make messages``
(makemessages + compilemessages), then give every new entry in
``src/linli/locale/en/LC_MESSAGES/django.po`` its English msgstr.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

import linli

LINLI = Path(linli.__file__).resolve().parent
LOCALE = LINLI / "locale"
LANGUAGES = ("en", "zh_Hans")


@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        """The key gettext's .mo uses: ``context\\x04msgid``."""
        return f"{self.context}\x04{self.msgid}" if self.context is not None else self.msgid


_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (".*")$')


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header excluded, obsolete ``#~`` entries kept out)."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry = Entry(msgid="")
        seen_msgid = False
        target: tuple[str, int] = ("", 0)
        for line in block.splitlines():
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                text = ast.literal_eval(line)
                kind, index = target
                if kind == "msgid":
                    entry.msgid += text
                elif kind == "msgctxt":
                    entry.context = (entry.context or "") + text
                elif kind == "msgid_plural":
                    entry.plural = (entry.plural or "") + text
                else:
                    entry.msgstr[index] += text
            elif match := _LINE.match(line):
                kind, index_text, literal = match.groups()
                text = ast.literal_eval(literal)
                if kind == "msgid":
                    entry.msgid, seen_msgid, target = text, True, ("msgid", 0)
                elif kind == "msgctxt":
                    entry.context, target = text, ("msgctxt", 0)
                elif kind == "msgid_plural":
                    entry.plural, target = text, ("msgid_plural", 0)
                else:
                    index = int(index_text or 0)
                    entry.msgstr[index] = text
                    target = ("msgstr", index)
        if seen_msgid and entry.msgid:
            entries.append(entry)
    return entries


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def mo_catalog(language: str) -> dict[object, str]:
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    catalog: dict[object, str] = dict(translations._catalog)  # type: ignore[attr-defined]
    catalog.pop("", None)  # the header
    return catalog


def expected_mo(entries: list[Entry]) -> dict[object, str]:
    """What msgfmt puts in the .mo: translated, non-fuzzy entries only."""
    expected: dict[object, str] = {}
    for entry in entries:
        if "fuzzy" in entry.flags or not any(entry.msgstr.values()):
            continue
        if entry.plural is None:
            expected[entry.key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(entry.key, index)] = text
    return expected


def test_every_english_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = read_po(po_path("en"))
    assert len(entries) > 100
    untranslated = [e.key for e in entries if not e.msgstr or not all(e.msgstr.values())]
    fuzzy = [e.key for e in entries if "fuzzy" in e.flags]
    assert untranslated == [], "give these entries an English msgstr in locale/en/LC_MESSAGES/django.po"
    assert fuzzy == [], "check these fuzzy English entries and remove the fuzzy flag"


def test_english_plurals_have_both_forms() -> None:
    for entry in read_po(po_path("en")):
        if entry.plural is not None:
            assert sorted(entry.msgstr) == [0, 1], entry.key


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language: str) -> None:
    """The committed .mo is what compiling the .po gives: run ``make messages`` if not."""
    assert mo_catalog(language) == expected_mo(read_po(po_path(language)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_python_format_placeholders_survive_translation(language: str) -> None:
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    for entry in read_po(po_path(language)):
        for text in entry.msgstr.values():
            if text:
                assert set(placeholder.findall(text)) == set(placeholder.findall(entry.msgid)), entry.key


def test_catalogues_hold_every_string_in_the_code(tmp_path: Path) -> None:
    """makemessages over a copy of the code finds no msgid the catalogues lack (or keep)."""
    copy = tmp_path / "linli"
    shutil.copytree(LINLI, copy, ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "*.pyc"))
    (copy / "locale").mkdir()
    cwd = Path.cwd()
    try:
        os.chdir(copy)
        with override_settings(LOCALE_PATHS=[copy / "locale"]):
            call_command("makemessages", locale=["en"], no_obsolete=True, verbosity=0)
    finally:
        os.chdir(cwd)
    fresh = {entry.key for entry in read_po(copy / "locale" / "en" / "LC_MESSAGES" / "django.po")}
    for language in LANGUAGES:
        committed = {entry.key for entry in read_po(po_path(language))}
        assert sorted(fresh - committed) == [], f"missing from {language}: run `make messages`"
        assert sorted(committed - fresh) == [], f"no longer used, still in {language}: run `make messages`"
