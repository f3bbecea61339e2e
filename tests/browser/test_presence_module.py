"""frontend/js/presence.js: the member list and the join/leave lines, run in the browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SINCE = "2026-11-25T12:30:00.000Z"


def run(page: Page, body: str) -> Any:
    """Run ``body`` with Roster, PresenceLines, QUIET_REJOIN_MS and IN_FLIGHT_MS in scope."""
    return page.evaluate(
        f"""async () => {{
          const {{ Roster, PresenceLines, QUIET_REJOIN_MS, IN_FLIGHT_MS }} =
            await import("/js/presence.js");
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


# A renewal: the old socket's roster, the successor's join answer, and presence frames,
# delivered in the order given; each step's result is whether it makes a line.
RENEWAL = f"""
const member = (name) => ({{ name, since: new Date("{SINCE}"), connections: 1 }});
const members = (...listed) =>
  ({{ count: listed.length, complete: true, members: listed.map(member) }});
const renewal = (listed, steps) => {{
  const roster = new Roster();
  roster.replace(members(...listed));
  const lines = steps.map(([event, ...args]) => {{
    if (event === "renew") return roster.renew(members(...args), new Date(1000)) ?? "answer";
    const [name, at = 1000] = args;
    return roster.apply({{ event, name, count: 0 }}, new Date(at));
  }});
  return {{ lines, names: names(roster).map(([name]) => name) }};
}};
"""


def test_a_renewal_answer_does_not_swallow_the_notice_that_follows_it(page_at_site: Page) -> None:
    """The successor's answer lists bob (or no longer does): the notice after it is his line;
    a notice that only repeats a line already shown (the answer read before it) makes none."""
    result = run(
        page_at_site,
        RENEWAL
        + """
        return {
          joined: renewal(["alice"], [["renew", "alice", "bob"], ["joined", "bob"]]),
          left: renewal(["alice", "bob"], [["renew", "alice"], ["left", "bob"]]),
          joinedBefore: renewal(["alice"],
            [["joined", "bob"], ["renew", "alice"], ["joined", "bob"]]),
          leftBefore: renewal(["alice", "bob"],
            [["left", "bob"], ["renew", "alice", "bob"], ["left", "bob"]]),
          both: renewal(["alice"],
            [["joined", "bob"], ["joined", "bob"], ["renew", "alice", "bob"], ["joined", "bob"]]),
          quiet: renewal(["alice", "carol"], [["renew", "alice", "carol"]]),
        };
        """,
    )
    assert result == {
        "joined": {"lines": ["answer", True], "names": ["alice", "bob"]},
        "left": {"lines": ["answer", True], "names": ["alice"]},
        "joinedBefore": {"lines": [True, "answer", False], "names": ["alice", "bob"]},
        "leftBefore": {"lines": [True, "answer", False], "names": ["alice"]},
        "both": {"lines": [True, False, "answer", False], "names": ["alice", "bob"]},
        "quiet": {"lines": ["answer"], "names": ["alice", "carol"]},
    }


def test_a_renewal_change_waits_for_its_notice_only_so_long(page_at_site: Page) -> None:
    """A notice IN_FLIGHT_MS after the answer, or after a replace, is judged by the list alone;
    a second renewal keeps what the first left unannounced."""
    result = run(
        page_at_site,
        RENEWAL
        + """
        const late = 1000 + IN_FLIGHT_MS;
        const roster = new Roster();
        roster.replace(members("alice"));
        roster.renew(members("alice", "bob"), new Date(1000));
        roster.replace(members("alice", "bob"));
        const replaced = roster.apply({ event: "joined", name: "bob", count: 2 }, new Date(1001));
        roster.clear();
        roster.replace(members("alice"));
        roster.renew(members("alice", "bob"), new Date(1000));
        roster.clear();
        roster.replace(members("alice", "bob"));
        const cleared = roster.apply({ event: "joined", name: "bob", count: 2 }, new Date(1001));
        return {
          in_flight: IN_FLIGHT_MS,
          lateJoined: renewal(["alice"], [["renew", "alice", "bob"], ["joined", "bob", late]]),
          lateLeft: renewal(["alice", "bob"], [["renew", "alice"], ["left", "bob", late]]),
          twice: renewal(["alice"],
            [["renew", "alice", "bob"], ["renew", "alice", "bob"], ["joined", "bob"]]),
          undone: renewal(["alice"],
            [["renew", "alice", "bob"], ["renew", "alice"], ["joined", "bob"], ["left", "bob"]]),
          replaced,
          cleared,
        };
        """,
    )
    assert result == {
        "in_flight": 5000,
        "lateJoined": {"lines": ["answer", False], "names": ["alice", "bob"]},
        "lateLeft": {"lines": ["answer", False], "names": ["alice"]},
        "twice": {"lines": ["answer", "answer", True], "names": ["alice", "bob"]},
        "undone": {"lines": ["answer", "answer", True, True], "names": ["alice"]},
        "replaced": False,
        "cleared": False,
    }
