"""frontend/js/presence.js: the member list and the join/leave lines, run in the browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SINCE = "2026-11-25T12:30:00.000Z"


def run(page: Page, body: str) -> Any:
    """Run ``body`` with Roster, PresenceLines and QUIET_REJOIN_MS in scope."""
    return page.evaluate(
        f"""async () => {{
          const {{ Roster, PresenceLines, QUIET_REJOIN_MS }} = await import("/js/presence.js");
          const names = (roster) => roster.members.map((m) => [m.name, m.connections]);
          {body}
        }}"""
    )


def test_members_replace_the_list_and_presence_keeps_it_current(page_at_site: Page) -> None:
    """A members frame is the list; joined adds a name, left removes it; count follows frames."""
    result = run(
        page_at_site,
        f"""
        const roster = new Roster();
        const before = roster.count;
        roster.replace({{ count: 2, complete: true, members: [
          {{ name: "alice", since: new Date("{SINCE}"), connections: 2 }},
          {{ name: "bob", since: new Date("{SINCE}"), connections: 1 }}] }});
        const listed = names(roster);
        const carol = roster.apply({{ event: "joined", name: "carol", count: 3 }}, new Date(0));
        const joined = [names(roster), roster.count, roster.members.at(-1).since.getTime()];
        const bob = roster.apply({{ event: "left", name: "bob", count: 2 }}, new Date(1));
        return {{ before, listed, carol, joined, bob, after: [names(roster), roster.count] }};
        """,
    )
    assert result == {
        "before": None,
        "listed": [["alice", 2], ["bob", 1]],
        "carol": True,
        "joined": [[["alice", 2], ["bob", 1], ["carol", 1]], 3, 0],
        "bob": True,
        "after": [[["alice", 2], ["carol", 1]], 2],
    }


def test_a_name_already_listed_or_not_listed_changes_nothing(page_at_site: Page) -> None:
    """Another connection of a present name, a repeated frame (two sockets) or an unknown
    name leaving changes neither the list nor makes a line; the count still follows."""
    result = run(
        page_at_site,
        f"""
        const roster = new Roster();
        roster.replace({{ count: 1, complete: false, members: [
          {{ name: "alice", since: new Date("{SINCE}"), connections: 1 }}] }});
        const again = roster.apply({{ event: "joined", name: "alice", count: 1 }}, new Date());
        const stranger = roster.apply({{ event: "left", name: "zed", count: 7 }}, new Date());
        const complete = roster.complete;
        roster.clear();
        return {{ again, stranger, names: names(roster), count: roster.count, complete,
                  cleared: roster.complete }};
        """,
    )
    assert result == {
        "again": False,
        "stranger": False,
        "names": [],
        "count": None,
        "complete": False,
        "cleared": True,
    }


def test_left_waits_the_quiet_time_and_a_quick_return_shows_neither_line(
    page_at_site: Page,
) -> None:
    """'left' is due QUIET_REJOIN_MS later; 'joined' within it cancels it and shows nothing."""
    result = run(
        page_at_site,
        """
        const lines = new PresenceLines();
        lines.left("carol", 1000);
        const early = lines.due(1000 + QUIET_REJOIN_MS - 1);
        const next = lines.nextDue;
        const back = lines.joined("carol", 1000 + QUIET_REJOIN_MS - 1);
        const nothing = [lines.due(1e9), lines.nextDue];
        lines.left("dave", 0);
        lines.left("dave", 4000);
        const late = lines.due(QUIET_REJOIN_MS);
        return { quiet: QUIET_REJOIN_MS, early, next, back, nothing, late };
        """,
    )
    assert result == {
        "quiet": 5000,
        "early": [],
        "next": 6000,
        "back": [],
        "nothing": [[], None],
        "late": [{"event": "left", "name": "dave"}],
    }


def test_a_return_after_the_quiet_time_shows_both_lines_in_order(page_at_site: Page) -> None:
    """Back after the quiet time: 'left' first (unless its timer showed it), then 'joined'."""
    result = run(
        page_at_site,
        """
        const lines = new PresenceLines(100);
        lines.left("carol", 0);
        lines.left("erin", 50);
        const joined = lines.joined("carol", 120);
        const rest = lines.due(150);
        const fresh = lines.joined("frank", 200);
        lines.left("gina", 300);
        lines.present(["gina"]);
        lines.left("hal", 300);
        lines.clear();
        return { joined, rest, fresh, after: [lines.due(1e9), lines.nextDue] };
        """,
    )
    assert result == {
        "joined": [{"event": "left", "name": "carol"}, {"event": "joined", "name": "carol"}],
        "rest": [{"event": "left", "name": "erin"}],
        "fresh": [{"event": "joined", "name": "frank"}],
        "after": [[], None],
    }
