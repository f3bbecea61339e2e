"""frontend/js/accountname.js: the page names its account as the authorizer does
(``authorizer.names``), run in the browser against the Python answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from authorizer.names import display_name, tag
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SUB = "8f1c2d3e-0000-4000-8000-123456789abc"
CASES: list[tuple[dict[str, Any], str, bool]] = [
    ({"cognito:username": "alice", "name": "Alice Liddell"}, "cognito:username", True),
    ({"cognito:username": "b0b"}, "cognito:username", True),
    ({"cognito:username": "john.smith"}, "cognito:username", True),
    ({"cognito:username": "a" * 33}, "cognito:username", True),
    ({"name": "Ada Lovelace"}, "name", False),
    ({"name": "alice"}, "name", False),
    ({"name": "  \uff21da\u3000\u3000Lovelace "}, "name", False),
    ({"name": "\u0410\u0434\u0430 " * 12}, "name", False),
    ({"name": "\U0001f600" * 40}, "name", False),
    ({"name": "e\u0301" * 30}, "name", False),
    ({"name": 42}, "name", False),
    ({}, "preferred_username", False),
    ({"sub": "\u00e9l\u00e8ve-\U0001f600", "name": "x"}, "name", False),
]


def test_the_page_names_an_account_as_the_authorizer_does(page_at_site: Page) -> None:
    """Bare, tagged, cut (in code points, astral characters included), normalised, missing:
    every case gives the page the authorizer's name for it, the tag included."""
    cases = [({"sub": SUB, **claims}, claim, unique) for claims, claim, unique in CASES]
    found = page_at_site.evaluate(
        """async (cases) => {
          const { accountName } = await import("/js/accountname.js");
          return cases.map(([claims, claim, unique]) => accountName(claims, { claim, unique }));
        }""",
        cases,
    )
    expected = [display_name(claims, claim, unique=unique) for claims, claim, unique in cases]
    assert found == expected, json.dumps(list(zip(found, expected, strict=True)), indent=1)


def test_the_page_tags_as_the_authorizer_tags(page_at_site: Page) -> None:
    """FNV-1a over UTF-8, six digits, for subs of every shape."""
    subs = ["", "a", "foobar", SUB, "\u00e9\U0001f600", "x" * 1000]
    found = page_at_site.evaluate(
        """async (subs) => {
          const { nameTag } = await import("/js/accountname.js");
          return subs.map(nameTag);
        }""",
        subs,
    )
    assert found == [tag(sub) for sub in subs]
