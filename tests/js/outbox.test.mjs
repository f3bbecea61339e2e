// frontend/js/outbox.js: the messages being sent, under Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox, canRetry } from "../../frontend/js/outbox.js";

const states = (entries) => entries.map((entry) => [entry.clientId, entry.state]);

test("takeQueued hands each queued message out once; a closed socket queues them again", () => {
  const box = new Outbox();
  box.add("one", "c1");
  box.add("two", "c2");
  assert.deepEqual(states(box.takeQueued()), [["c1", "sending"], ["c2", "sending"]]);
  assert.deepEqual(states(box.takeQueued()), []);
  box.add("three", "c3");
  assert.deepEqual(states(box.socketClosed()), [["c1", "queued"], ["c2", "queued"]]);
  assert.deepEqual(states(box.takeQueued()), [["c1", "sending"], ["c2", "sending"], ["c3", "sending"]]);
});

test("acknowledge returns the message the first time and forgets it", () => {
  const box = new Outbox();
  box.add("hi", "c1");
  box.takeQueued();
  assert.equal(box.acknowledge("c1").text, "hi");
  assert.equal(box.acknowledge("c1"), undefined);
  assert.equal(box.get("c1"), undefined);
  assert.equal(box.socketClosed().length, 0);
});

test("an error marks the message failed with its code; retry queues it again, unchanged", () => {
  const box = new Outbox();
  box.add("hi", "c1");
  box.takeQueued();
  assert.deepEqual({ ...box.fail("c1", "not_stored") }, { clientId: "c1", text: "hi", state: "failed", code: "not_stored" });
  assert.deepEqual({ ...box.retry("c1") }, { clientId: "c1", text: "hi", state: "queued", code: null });
  assert.equal(box.retry("c1"), undefined, "only a failed message is retried");
  assert.equal(box.fail("nope", "not_stored"), undefined);
  assert.deepEqual(states(box.takeQueued()), [["c1", "sending"]]);
});

test("the server losing the connection is not the message's fault: it goes again later", () => {
  const box = new Outbox();
  box.add("hi", "c1");
  box.takeQueued();
  assert.equal(box.fail("c1", "not_connected").state, "queued");
});

test("not_stored and internal_error are worth a retry; a too-long or empty text is not", () => {
  const codes = ["not_stored", "internal_error", "message_too_long", "empty_message", "payload_too_large", "invalid_field"];
  assert.deepEqual(codes.map(canRetry), [true, true, false, false, false, false]);
});

test("a removed or cleared message is no longer sent", () => {
  const box = new Outbox();
  box.add("a", "c1");
  box.add("b", "c2");
  box.remove("c1");
  assert.deepEqual(states(box.takeQueued()), [["c2", "sending"]]);
  box.clear();
  box.socketClosed();
  assert.equal(box.takeQueued().length, 0);
});

test("a rate_limited message is held until its time, later ones wait behind it, held ones go oldest first, each after the one before was delivered", () => {
  const box = new Outbox();
  for (const id of ["c1", "c2", "c3"]) box.add(id, id);
  box.takeQueued();
  box.hold("c2", 1000);
  box.hold("c3", 900);
  box.add("c4", "c4");
  assert.deepEqual(states(box.takeQueued()), [], "c4 waits behind the held ones");
  assert.deepEqual(states(box.release(2000)), [], "c1, before them, is not delivered yet");
  assert.equal(box.nextRelease, null);
  box.acknowledge("c1");
  assert.equal(box.nextRelease, 1000);
  assert.deepEqual(states(box.release(999)), []);
  assert.deepEqual(states(box.release(1000)), [["c2", "queued"]]);
  assert.deepEqual(states(box.release(1000)), [], "c3 waits for c2's delivery");
  assert.deepEqual(states(box.takeQueued()), [["c2", "sending"]]);
  box.acknowledge("c2");
  assert.deepEqual(states(box.release(1000)), [["c3", "queued"]]);
  assert.deepEqual(states(box.takeQueued()), [["c3", "sending"], ["c4", "sending"]]);
  assert.equal(box.nextRelease, null);
});
