// frontend/js/presence.js: the member list and the join/leave lines, under Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { IN_FLIGHT_MS, PresenceLines, QUIET_REJOIN_MS, Roster } from "../../frontend/js/presence.js";

const SINCE = new Date("2026-11-25T12:30:00.000Z");
const names = (roster) => roster.members.map((member) => [member.name, member.connections]);
const member = (name) => ({ name, since: SINCE, connections: 1 });
const members = (...listed) => ({ count: listed.length, complete: true, members: listed.map(member) });

/**
 * A renewal: the old socket's roster, the successor's join answer ("renew") and
 * presence frames, in the order given; each step's result is whether it makes a line.
 */
function renewal(listed, steps) {
  const roster = new Roster();
  roster.replace(members(...listed));
  const lines = steps.map(([event, ...args]) => {
    if (event === "renew") return roster.renew(members(...args), new Date(1000)) ?? "answer";
    const [name, at = 1000] = args;
    return roster.apply({ event, name, count: 0 }, new Date(at));
  });
  return { lines, names: names(roster).map(([name]) => name) };
}

test("a members frame is the list; joined adds a name, left removes it; count follows frames", () => {
  const roster = new Roster();
  assert.equal(roster.count, null);
  roster.replace({
    count: 2,
    complete: true,
    members: [
      { name: "alice", since: SINCE, connections: 2 },
      { name: "bob", since: SINCE, connections: 1 },
    ],
  });
  assert.deepEqual(names(roster), [["alice", 2], ["bob", 1]]);
  assert.equal(roster.apply({ event: "joined", name: "carol", count: 3 }, new Date(0)), true);
  assert.deepEqual(names(roster), [["alice", 2], ["bob", 1], ["carol", 1]]);
  assert.equal(roster.count, 3);
  assert.equal(roster.members.at(-1).since.getTime(), 0);
  assert.equal(roster.apply({ event: "left", name: "bob", count: 2 }, new Date(1)), true);
  assert.deepEqual(names(roster), [["alice", 2], ["carol", 1]]);
  assert.equal(roster.count, 2);
});

test("a present name joining again, a repeated frame or an unknown name leaving makes no line; the count follows", () => {
  const roster = new Roster();
  roster.replace({ count: 1, complete: false, members: [{ name: "alice", since: SINCE, connections: 1 }] });
  assert.equal(roster.apply({ event: "joined", name: "alice", count: 1 }, new Date()), false);
  assert.equal(roster.apply({ event: "left", name: "zed", count: 7 }, new Date()), false);
  assert.equal(roster.complete, false);
  roster.clear();
  assert.deepEqual(names(roster), []);
  assert.equal(roster.count, null);
  assert.equal(roster.complete, true);
});

test("'left' is due QUIET_REJOIN_MS later; 'joined' within it cancels it and shows nothing", () => {
  assert.equal(QUIET_REJOIN_MS, 5000);
  const lines = new PresenceLines();
  lines.left("carol", 1000);
  assert.deepEqual(lines.due(1000 + QUIET_REJOIN_MS - 1), []);
  assert.equal(lines.nextDue, 6000);
  assert.deepEqual(lines.joined("carol", 1000 + QUIET_REJOIN_MS - 1), []);
  assert.deepEqual(lines.due(1e9), []);
  assert.equal(lines.nextDue, null);
  lines.left("dave", 0);
  lines.left("dave", 4000);
  assert.deepEqual(lines.due(QUIET_REJOIN_MS), [{ event: "left", name: "dave" }], "the first left counts");
});

test("back after the quiet time: 'left' first (unless its timer showed it), then 'joined'", () => {
  const lines = new PresenceLines(100);
  lines.left("carol", 0);
  lines.left("erin", 50);
  assert.deepEqual(lines.joined("carol", 120), [
    { event: "left", name: "carol" },
    { event: "joined", name: "carol" },
  ]);
  assert.deepEqual(lines.due(150), [{ event: "left", name: "erin" }]);
  assert.deepEqual(lines.joined("frank", 200), [{ event: "joined", name: "frank" }]);
  lines.left("gina", 300);
  lines.present(["gina"]);
  lines.left("hal", 300);
  lines.clear();
  assert.deepEqual(lines.due(1e9), []);
  assert.equal(lines.nextDue, null);
});

test("a renewal answer does not swallow the notice that follows it; a notice repeating a line already shown makes none", () => {
  assert.deepEqual(renewal(["alice"], [["renew", "alice", "bob"], ["joined", "bob"]]), {
    lines: ["answer", true],
    names: ["alice", "bob"],
  });
  assert.deepEqual(renewal(["alice", "bob"], [["renew", "alice"], ["left", "bob"]]), {
    lines: ["answer", true],
    names: ["alice"],
  });
  assert.deepEqual(renewal(["alice"], [["joined", "bob"], ["renew", "alice"], ["joined", "bob"]]), {
    lines: [true, "answer", false],
    names: ["alice", "bob"],
  });
  assert.deepEqual(renewal(["alice", "bob"], [["left", "bob"], ["renew", "alice", "bob"], ["left", "bob"]]), {
    lines: [true, "answer", false],
    names: ["alice"],
  });
  assert.deepEqual(
    renewal(["alice"], [["joined", "bob"], ["joined", "bob"], ["renew", "alice", "bob"], ["joined", "bob"]]),
    { lines: [true, false, "answer", false], names: ["alice", "bob"] },
  );
  assert.deepEqual(renewal(["alice", "carol"], [["renew", "alice", "carol"]]), {
    lines: ["answer"],
    names: ["alice", "carol"],
  });
});

test("a notice IN_FLIGHT_MS after the answer, or after a replace, is judged by the list alone; a second renewal keeps what the first left unannounced", () => {
  assert.equal(IN_FLIGHT_MS, 5000);
  const late = 1000 + IN_FLIGHT_MS;
  assert.deepEqual(renewal(["alice"], [["renew", "alice", "bob"], ["joined", "bob", late]]), {
    lines: ["answer", false],
    names: ["alice", "bob"],
  });
  assert.deepEqual(renewal(["alice", "bob"], [["renew", "alice"], ["left", "bob", late]]), {
    lines: ["answer", false],
    names: ["alice"],
  });
  assert.deepEqual(renewal(["alice"], [["renew", "alice", "bob"], ["renew", "alice", "bob"], ["joined", "bob"]]), {
    lines: ["answer", "answer", true],
    names: ["alice", "bob"],
  });
  assert.deepEqual(
    renewal(["alice"], [["renew", "alice", "bob"], ["renew", "alice"], ["joined", "bob"], ["left", "bob"]]),
    { lines: ["answer", "answer", true, true], names: ["alice"] },
  );

  const roster = new Roster();
  roster.replace(members("alice"));
  roster.renew(members("alice", "bob"), new Date(1000));
  roster.replace(members("alice", "bob"));
  assert.equal(roster.apply({ event: "joined", name: "bob", count: 2 }, new Date(1001)), false, "after a replace");
  roster.clear();
  roster.replace(members("alice"));
  roster.renew(members("alice", "bob"), new Date(1000));
  roster.clear();
  roster.replace(members("alice", "bob"));
  assert.equal(roster.apply({ event: "joined", name: "bob", count: 2 }, new Date(1001)), false, "after a clear");
});
