"""frontend/js/outbox.js: the messages being sent, run in the browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def run(page: Page, body: str) -> Any:
    """Run ``body`` with Outbox and canRetry in scope."""
    return page.evaluate(
        f"""async () => {{
          const {{ Outbox, canRetry }} = await import("/js/outbox.js");
          const states = (entries) => entries.map((e) => [e.clientId, e.state]);
          {body}
        }}"""
    )


def test_queued_messages_are_sent_once_per_socket_in_the_order_typed(page_at_site: Page) -> None:
    """takeQueued hands each queued message out once; a closed socket queues them again."""
    result = run(
        page_at_site,
        """
        const box = new Outbox();
        box.add("one", "c1");
        box.add("two", "c2");
        const first = states(box.takeQueued());
        const again = states(box.takeQueued());
        box.add("three", "c3");
        const requeued = states(box.socketClosed());
        return { first, again, requeued, next: states(box.takeQueued()) };
        """,
    )
    assert result == {
        "first": [["c1", "sending"], ["c2", "sending"]],
        "again": [],
        "requeued": [["c1", "queued"], ["c2", "queued"]],
        "next": [["c1", "sending"], ["c2", "sending"], ["c3", "sending"]],
    }


def test_the_own_copy_delivers_a_message_once(page_at_site: Page) -> None:
    """acknowledge returns the message the first time and forgets it."""
    result = run(
        page_at_site,
        """
        const box = new Outbox();
        box.add("hi", "c1");
        box.takeQueued();
        const first = box.acknowledge("c1");
        return [first.text, box.acknowledge("c1") ?? null, box.get("c1") ?? null,
                box.socketClosed().length];
        """,
    )
    assert result == ["hi", None, None, 0]


def test_a_refused_message_fails_and_a_retry_queues_it_with_the_same_client_id(
    page_at_site: Page,
) -> None:
    """An error marks the message failed with its code; retry queues it again, unchanged."""
    result = run(
        page_at_site,
        """
        const box = new Outbox();
        box.add("hi", "c1");
        box.takeQueued();
        const failed = { ...box.fail("c1", "not_stored") };
        const retried = { ...box.retry("c1") };
        return { failed, retried, retryAgain: box.retry("c1") ?? null,
                 unknown: box.fail("nope", "not_stored") ?? null,
                 sent: states(box.takeQueued()) };
        """,
    )
    assert result == {
        "failed": {"clientId": "c1", "text": "hi", "state": "failed", "code": "not_stored"},
        "retried": {"clientId": "c1", "text": "hi", "state": "queued", "code": None},
        "retryAgain": None,
        "unknown": None,
        "sent": [["c1", "sending"]],
    }


def test_not_connected_requeues_instead_of_failing(page_at_site: Page) -> None:
    """The server losing the connection is not the message's fault: it goes again later."""
    result = run(
        page_at_site,
        """
        const box = new Outbox();
        box.add("hi", "c1");
        box.takeQueued();
        return box.fail("c1", "not_connected").state;
        """,
    )
    assert result == "queued"


def test_only_errors_the_same_text_can_survive_offer_a_retry(page_at_site: Page) -> None:
    """not_stored and internal_error are worth a retry; a too-long or empty text is not."""
    result = run(
        page_at_site,
        """
        return ["not_stored", "internal_error", "message_too_long", "empty_message",
                "payload_too_large", "invalid_field"].map(canRetry);
        """,
    )
    assert result == [True, True, False, False, False, False]


def test_remove_and_clear_forget_messages(page_at_site: Page) -> None:
    """A removed or cleared message is no longer sent."""
    result = run(
        page_at_site,
        """
        const box = new Outbox();
        box.add("a", "c1");
        box.add("b", "c2");
        box.remove("c1");
        const left = states(box.takeQueued());
        box.clear();
        box.socketClosed();
        return [left, box.takeQueued().length];
        """,
    )
    assert result == [[["c2", "sending"]], 0]


def test_a_rate_limited_message_is_held_then_goes_again_one_by_one_in_order(
    page_at_site: Page,
) -> None:
    """hold keeps a message (not failed) until its time; later ones wait behind it; held
    ones are released oldest first, each once the one before was delivered, and go again
    with their clientIds."""
    result = run(
        page_at_site,
        """
        const box = new Outbox();
        for (const id of ["c1", "c2", "c3"]) box.add(id, id);
        box.takeQueued();
        box.hold("c2", 1000);
        box.hold("c3", 900);
        box.add("c4", "c4");
        const behind = states(box.takeQueued());
        const early = states(box.release(2000));
        const waiting = box.nextRelease;
        box.acknowledge("c1");
        const next = box.nextRelease;
        const tooSoon = states(box.release(999));
        const first = states(box.release(1000));
        const second = states(box.release(1000));
        const sent = states(box.takeQueued());
        box.acknowledge("c2");
        const then = states(box.release(1000));
        return { behind, early, waiting, next, tooSoon, first, second, sent, then,
                 sentNext: states(box.takeQueued()), none: box.nextRelease };
        """,
    )
    assert result == {
        "behind": [],
        "early": [],
        "waiting": None,
        "next": 1000,
        "tooSoon": [],
        "first": [["c2", "queued"]],
        "second": [],
        "sent": [["c2", "sending"]],
        "then": [["c3", "queued"]],
        "sentNext": [["c3", "sending"], ["c4", "sending"]],
        "none": None,
    }
