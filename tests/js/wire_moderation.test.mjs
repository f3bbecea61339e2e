// frontend/js/wire.js, its moderation part: the moderator's frames, `role` and `moderation`
// frames, a muted error's `until`, a tombstone's `deletedBy`, members' roles.
import assert from "node:assert/strict";
import { test } from "node:test";

import { banFrame, kickFrame, moderateFrame, muteFrame, parseServerFrame } from "../../frontend/js/wire.js";

const ID = "01JDQ7ZK3V8Y6W4T2R1P000000";
const SENT = "2026-12-06T04:00:00.000Z";
const UNTIL = "2026-12-06T04:10:00.000Z";
const parse = (frame) => parseServerFrame(JSON.stringify(frame));

test("the moderator's frames carry exactly their fields", () => {
  assert.deepEqual(JSON.parse(moderateFrame("s3cret")), { action: "moderate", secret: "s3cret" });
  assert.deepEqual(JSON.parse(muteFrame("bob", 600)), { action: "mute", name: "bob", seconds: 600 });
  assert.deepEqual(JSON.parse(kickFrame("bob")), { action: "kick", name: "bob" });
  assert.deepEqual(JSON.parse(banFrame("bob", 0)), { action: "ban", name: "bob", seconds: 0 });
});

test("a role frame says whether the reader moderates; a malformed one is ignored", () => {
  assert.deepEqual(parse({ type: "role", moderator: true }), { type: "role", moderator: true });
  assert.equal(parse({ type: "role", moderator: "yes" }).type, "ignored");
});

test("a moderation notice reads its event, name and until; unknown events are ignored", () => {
  const notice = parse({ type: "moderation", room: "r", event: "muted", name: "bob", until: UNTIL });
  assert.equal(notice.type, "moderation");
  assert.equal(notice.until.toISOString(), UNTIL);
  assert.equal(parse({ type: "moderation", room: "r", event: "kicked", name: "bob" }).until, undefined);
  assert.equal(parse({ type: "moderation", room: "r", event: "smitten", name: "bob" }).type, "ignored");
  assert.equal(parse({ type: "moderation", room: "r", event: "muted", name: "" }).type, "ignored");
  assert.equal(parse({ type: "moderation", room: "r", event: "muted", name: "bob", until: "soon" }).until, undefined);
});

test("a muted error says until when", () => {
  const error = parse({ type: "error", code: "muted", until: UNTIL, clientId: "c1" });
  assert.equal(error.until.toISOString(), UNTIL);
  assert.equal(error.clientId, "c1");
});

test("a tombstone says who removed it; a live message has no deletedBy", () => {
  const base = { type: "message", room: "r", id: ID, from: "bob", sentAt: SENT, rev: 2 };
  assert.equal(parse({ ...base, deleted: true, deletedBy: "moderator" }).deletedBy, "moderator");
  assert.equal(parse({ ...base, deleted: true, deletedBy: "author" }).deletedBy, "author");
  assert.equal(parse({ ...base, deleted: true, deletedBy: "<b>" }).deletedBy, undefined);
  assert.equal(parse({ ...base, text: "hi", deletedBy: "moderator" }).deletedBy, undefined);
});

test("a members frame may say the reader's role and mark moderators", () => {
  const frame = parse({
    type: "members", room: "r", count: 2, complete: true, moderator: true,
    members: [{ name: "mo", since: SENT, connections: 1, moderator: true }, { name: "bob", since: SENT }],
  });
  assert.equal(frame.moderator, true);
  assert.equal(frame.members[0].moderator, true);
  assert.equal(frame.members[1].moderator, undefined);
  const plain = parse({ type: "members", room: "r", count: 0, complete: true, members: [] });
  assert.equal(plain.moderator, undefined);
});
