# SPDX-License-Identifier: AGPL-3.0-or-later
"""The project carries its own contract: README.md and docs/ point at no
document outside the repository (a bank's engineers who clone it have no
../shared/API.md or DESIGN.md), their relative links lead to files that
exist, and docs/api.md names every route guichetd serves."""
import re

from harness import REPO

DOCS = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))


def test_no_pointer_outside_the_repository():
    bad = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            if re.search(r"\bAPI\.md\b|\bDESIGN\.md\b|\bSTYLE\.md\b", line) \
                    or re.search(r"\.\./shared(?!/data)", line):
                bad.append(f"{doc.relative_to(REPO)}:{n}: {line.strip()}")
    assert not bad, "pointers to documents the repository does not carry:\n" + "\n".join(bad)


def test_relative_links_resolve():
    bad = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            if not (doc.parent / target).exists():
                bad.append(f"{doc.relative_to(REPO)}: {target}")
    assert not bad, "links to files that do not exist:\n" + "\n".join(bad)


def test_api_md_names_every_route(guichet):
    text = (REPO / "docs" / "api.md").read_text()
    # every {name} in the page counts as the router's {}
    written = {re.sub(r"\{[^}]*\}", "{}", p)
               for p in re.findall(r"(/[A-Za-z0-9_./{}-]*)", text)}
    missing = [f"{r['method']} {r['path']}" for r in guichet.cli("routes")["routes"]
               if re.sub(r"\{[^}]*\}", "{}", r["path"]) not in written]
    assert not missing, "docs/api.md does not name:\n  " + "\n  ".join(missing)
