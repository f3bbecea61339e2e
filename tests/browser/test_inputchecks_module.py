"""frontend/js/inputchecks.js (the name and text checks), run in the browser beside the
backend's own checks (backend/chat/names.py, clean_text)."""

from __future__ import annotations

from typing import Any

import pytest
from chat.names import name_problem, normalize_name
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Run ``body`` with the inputchecks module as ``p`` and ``arg`` in scope."""
    return page.evaluate(
        f"""async (arg) => {{
          const p = await import("/js/inputchecks.js");
          {body}
        }}""",
        arg,
    )


# Names the backend (backend/chat/names.py) refuses or accepts, each with why. The page checks
# them the same way; it is only lenient where it cannot tell (see LENIENT below).
NAME_CASES = [
    ("alice", None),
    ("  Zoë   Smith ", None),  # spaces collapse and trim
    ("\uff21\uff2c\uff29\uff23\uff25", None),  # fullwidth: NFKC makes it ALICE
    ("\u0430\u043b\u0438\u0441\u0430", None),  # all Cyrillic
    ("\u5c71\u7530\u3055\u3093", None),  # Han with Hiragana
    ("\uae40\ucca0\uc218", None),  # Hangul
    ("\u2605 star", None),  # a symbol counts as visible
    ("\u0430lice", "mixed"),  # a Cyrillic a among Latin letters
    ("al\u03bfce", "mixed"),  # a Greek omicron among Latin letters
    ("\u3164", "invisible"),  # Hangul filler
    ("a\u2800b", "invisible"),  # braille blank
    ("x\ue000", "invisible"),  # private use
    ("bob\u200b", "invisible"),  # zero width space (format)
    ("e\u0301\u0301\u0301", "marks"),  # three marks on one letter
    ("\u00e9\u0301\u0301", "marks"),  # a precomposed accent counts
    ("e\u0301\u0301", None),  # two are fine
    ("...", "visible"),  # no letter, digit or symbol
    ("x" * 33, "length"),
    ("\uff41" * 32, None),  # 32 after NFKC
]
WORDS = {
    "mixed": "mix letters",
    "invisible": "invisible",
    "marks": "marks on one letter",
    "visible": "letter, digit or symbol",
    "length": "at most 32",
}


def test_name_problems_mirror_the_backend(page_at_site: Page) -> None:
    """nameProblem refuses what the backend refuses (each with its reason in words) and
    accepts what it accepts, after the same normalisation."""
    names = [name for name, _ in NAME_CASES]
    result = run(
        page_at_site,
        "return arg.map((name) => [p.normalizeName(name), p.nameProblem(name)]);",
        names,
    )
    for (name, why), (normalized, problem) in zip(NAME_CASES, result, strict=True):
        kept = normalize_name(name)
        assert normalized == kept, name
        assert (name_problem(kept) is None) == (why is None), f"case out of date: {name!r}"
        if why is None:
            assert problem is None, (name, problem)
        else:
            assert problem is not None and WORDS[why] in problem, (name, problem)


def test_text_problems_name_controls_and_bidi_overrides_but_allow_newlines_and_tabs(
    page_at_site: Page,
) -> None:
    """textProblem refuses what the backend's clean_text refuses (controls other than newline
    and tab, bidi overrides and isolates), naming the code points; plain text passes."""
    texts = ["line one\nline two\ttabbed", "invoice_\u202efdp.exe", "a\u2066b\u0007c\u0085"]
    result = run(page_at_site, "return arg.map((text) => p.textProblem(text));", texts)
    assert result[0] is None
    assert "U+202E" in result[1]
    assert all(point in result[2] for point in ("U+2066", "U+0007", "U+0085"))
