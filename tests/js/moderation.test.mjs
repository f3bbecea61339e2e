// frontend/js/moderation.js: the picker's durations, the words of moderation notices, the
// muted reader's line, and the removal that stops reconnecting.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DURATIONS,
  LIFT,
  MuteState,
  Removal,
  confirmWords,
  durationChoices,
  localTime,
  mutedLine,
  noticeWords,
  removedWords,
} from "../../frontend/js/moderation.js";

const NOW = new Date("2026-12-06T12:00:00Z");
const LATER = new Date("2026-12-06T12:10:00Z");

test("the picker offers 10 minutes, 1 hour, 1 day and 7 days, then lifting", () => {
  assert.deepEqual(
    DURATIONS.map((duration) => duration.seconds),
    [600, 3600, 86400, 604800],
  );
  const choices = durationChoices("ban");
  assert.equal(choices.length, 5);
  assert.deepEqual(choices.at(-1), { seconds: LIFT, words: "Lift the ban" });
  assert.equal(durationChoices("mute").at(-1).words, "Lift the mute");
  assert.equal(choices[0].words, "for 10 minutes");
});

test("each action's confirm names the person; an unknown action is a programming error", () => {
  for (const action of ["mute", "kick", "ban"]) assert.match(confirmWords(action, "bob").question, /bob/);
  assert.equal(confirmWords("kick", "bob").button, "Kick");
  assert.throws(() => confirmWords("smite", "bob"));
});

test("a notice about someone else names them; about the reader it speaks to them", () => {
  const until = localTime(LATER, NOW);
  assert.equal(noticeWords({ event: "muted", name: "bob", until: LATER }, "alice", NOW), `bob was muted by a moderator until ${until}.`);
  assert.equal(
    noticeWords({ event: "muted", name: "alice", until: LATER }, "alice", NOW),
    `A moderator muted you until ${until}. You can still read the room.`,
  );
  assert.equal(noticeWords({ event: "kicked", name: "bob" }, "alice", NOW), "bob was removed from the room by a moderator.");
  assert.match(noticeWords({ event: "banned", name: "bob", until: LATER }, "alice", NOW), new RegExp(`banned .*until ${until}`));
  assert.equal(noticeWords({ event: "unmuted", name: "bob" }, "alice", NOW), "bob's mute was lifted.");
  assert.equal(noticeWords({ event: "unbanned", name: "bob" }, "alice", NOW), "bob's ban was lifted.");
});

test("a time today shows as the hour; another day shows its date", () => {
  assert.ok(!localTime(LATER, NOW).includes("2026"));
  assert.match(localTime(new Date("2026-12-13T12:00:00Z"), NOW), /2026/);
  assert.ok(mutedLine(LATER, NOW).includes(localTime(LATER, NOW)));
});

test("a mute lasts until its time, a later one replaces it, and lifting ends it", () => {
  const mute = new MuteState();
  assert.equal(mute.until(NOW.getTime()), null);
  mute.muted(LATER);
  assert.equal(mute.until(NOW.getTime()), LATER);
  assert.equal(mute.until(LATER.getTime()), null, "over at its time");
  mute.muted(LATER);
  mute.lifted();
  assert.equal(mute.until(NOW.getTime()), null);
});

test("only a kick or ban naming the reader removes them; an unban takes the ban back", () => {
  const removal = new Removal();
  assert.equal(removal.notice({ event: "banned", name: "bob", until: LATER }, "alice"), false);
  assert.equal(removal.notice({ event: "muted", name: "alice", until: LATER }, "alice"), false);
  assert.equal(removal.removed, null);
  assert.equal(removal.notice({ event: "banned", name: "alice", until: LATER }, "alice"), true);
  assert.deepEqual(removal.removed, { event: "banned", until: LATER });
  removal.notice({ event: "unbanned", name: "alice" }, "alice");
  assert.equal(removal.removed, null);
  assert.equal(removal.notice({ event: "kicked", name: "alice" }, "alice"), true);
  assert.match(removedWords(removal.removed, NOW), /removed you/);
  assert.match(removedWords({ event: "banned", until: LATER }, NOW), /will not reconnect/);
});
