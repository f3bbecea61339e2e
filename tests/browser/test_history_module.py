"""frontend/js/history.js: which history requests the page makes, run in the browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# ULIDs in order: A < B < C < D < E.
IDS = {name: "01JDQ7ZK3V8Y6W4T2R1P0" + str(n).zfill(5) for n, name in enumerate("ABCDE")}


def run(page: Page, body: str) -> Any:
    """Run ``body`` with the history module's exports and the ids A-E in scope."""
    return page.evaluate(
        f"""async (ids) => {{
          const {{ RoomSync, insertionIndex, ZERO_ULID, PAGE_LIMIT }} =
            await import("/js/history.js");
          const {{ A, B, C, D, E }} = ids;
          const page = (messages, more, cursor = {{}}) =>
            ({{ messages: messages.map((id) => ({{ id }})), more, ...cursor }});
          {body}
        }}""",
        IDS,
    )


def test_insertion_index_is_the_first_place_not_smaller(page_at_site: Page) -> None:
    """insertionIndex finds where an id goes in an ascending list, and finds it when present."""
    result = run(
        page_at_site,
        "return [[], [B], [B], [B], [A, C, E], [A, C, E], [A, C, E]]"
        ".map((ids, i) => insertionIndex(ids, [A, A, B, C, B, D, E][i]));",
    )
    assert result == [0, 0, 0, 1, 1, 2, 2]


def test_first_open_asks_the_newest_page_then_pages_back_on_request(page_at_site: Page) -> None:
    """The newest page comes first; 'earlier' asks before the oldest shown until 'more' is false."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        const steps = [];
        steps.push(sync.earlierState, sync.opened());
        steps.push(sync.received(page([C, D], true)), sync.earlierState);
        steps.push(sync.earlier(C), sync.earlierState, sync.earlier(C));
        steps.push(sync.received(page([A, B], false, { before: C })), sync.earlierState);
        steps.push(sync.earlier(A));
        return { steps, PAGE_LIMIT };
        """,
    )
    limit = result["PAGE_LIMIT"]
    assert limit == 50
    assert result["steps"] == [
        "hidden",
        [{"limit": limit}],
        {"accepted": True, "requests": []},
        "ready",
        [{"before": IDS["C"], "limit": limit}],
        "loading",
        [],
        {"accepted": True, "requests": []},
        "hidden",
        [],
    ]


def test_reconnect_catches_up_page_by_page_after_the_newest_of_each_page(
    page_at_site: Page,
) -> None:
    """After a reconnect the page asks after the last id it knows, then after each page's newest."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.received(page([A, B], false));
        sync.closed();
        return [
          sync.opened(),
          sync.received(page([B], false, { after: A })),
          sync.received(page([C], true, { after: B })),
          sync.received(page([D, E], false, { after: C })),
          sync.opened(),
        ];
        """,
    )
    assert result == [
        [{"after": IDS["B"], "limit": 50}],
        {"accepted": False, "requests": []},
        {"accepted": True, "requests": [{"after": IDS["C"], "limit": 50}]},
        {"accepted": True, "requests": []},
        [{"after": IDS["E"], "limit": 50}],
    ]


def test_live_messages_move_the_cursor_only_after_the_late_catch_up(page_at_site: Page) -> None:
    """A live message seen while the room index settles cannot make a reconnect skip others."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.received(page([A], false));
        sync.live(C);  // B may have been missed: the index had not settled
        sync.closed();
        const early = sync.opened();
        sync.received(page([B, C], false, { after: A }));
        const late = sync.catchUpAgain();
        sync.received(page([], false, { after: C }));
        sync.live(E);
        sync.closed();
        return { early, late, next: sync.opened() };
        """,
    )
    assert result == {
        "early": [{"after": IDS["A"], "limit": 50}],
        "late": [{"after": IDS["C"], "limit": 50}],
        "next": [{"after": IDS["E"], "limit": 50}],
    }


def test_a_late_catch_up_asked_during_another_runs_after_it(page_at_site: Page) -> None:
    """catchUpAgain while a catch-up is in flight waits for it, then asks after its end."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.received(page([A], false));
        sync.closed();
        sync.opened();
        return [sync.catchUpAgain(), sync.received(page([B], false, { after: A }))];
        """,
    )
    assert result == [[], {"accepted": True, "requests": [{"after": IDS["B"], "limit": 50}]}]


def test_an_empty_room_catches_up_from_the_smallest_ulid(page_at_site: Page) -> None:
    """With nothing shown, a reconnect asks after the zero ULID, so nothing sent since is lost."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        const answer = sync.received(page([], false));
        sync.closed();
        return { answer, state: sync.earlierState, next: sync.opened(), ZERO_ULID };
        """,
    )
    assert result["ZERO_ULID"] == "0" * 26
    assert result["answer"] == {"accepted": True, "requests": []}
    assert result["state"] == "hidden"
    assert result["next"] == [{"after": "0" * 26, "limit": 50}]


def test_a_page_saying_more_without_messages_does_not_loop(page_at_site: Page) -> None:
    """An 'after' page with more but no message ends the catch-up instead of asking again."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.received(page([A], false));
        sync.opened();
        return sync.received(page([], true, { after: A }));
        """,
    )
    assert result == {"accepted": True, "requests": []}


def test_closing_or_an_error_forgets_requests_in_flight(page_at_site: Page) -> None:
    """An answer nobody waits for any more is not accepted; 'earlier' can be asked again."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.received(page([B], true));
        sync.earlier(B);
        sync.abandoned();
        const afterError = [sync.earlierState, sync.received(page([A], false, { before: B }))];
        sync.earlier(B);
        sync.closed();
        return [...afterError, sync.earlierState, sync.received(page([A], false, { before: B }))];
        """,
    )
    refused = {"accepted": False, "requests": []}
    assert result == ["ready", refused, "ready", refused]


def test_older_live_messages_wait_for_load_earlier_and_trimming_offers_it(
    page_at_site: Page,
) -> None:
    """A live message older than the oldest shown waits while older ones are missing."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.received(page([C, D], false));
        const complete = [sync.belongsToEarlier(A, C), sync.earlierState];
        sync.trimmed();
        return [...complete, sync.earlierState, sync.belongsToEarlier(A, C),
                sync.belongsToEarlier(E, C), sync.belongsToEarlier(A, null)];
        """,
    )
    assert result == [False, "hidden", "ready", True, False, False]


def test_a_log_trimmed_before_the_newest_page_arrives_still_offers_earlier(
    page_at_site: Page,
) -> None:
    """The newest page saying 'no more' does not hide what the size cap already dropped."""
    result = run(
        page_at_site,
        """
        const sync = new RoomSync();
        sync.opened();
        sync.trimmed();
        sync.received(page([], false));
        return sync.earlierState;
        """,
    )
    assert result == "ready"
