import { describe, expect, it } from "vitest";
import {
  accountPhases,
  missedTargets,
  type PhaseWindow,
  type ReceiverView,
  recoveredAt,
  reportTable,
  type SentMessage,
  SHORT_RUN_TARGETS,
} from "../src/faults/accounting.js";

const channel = "http://a.test/channels/x";
const message = (sender: string, seq: number, sentAt: number, epoch = 1): SentMessage => ({
  activityId: `${sender}-${seq}`,
  channel,
  sender,
  seq,
  sentAt,
  epoch,
});
const view = (
  user: string,
  shown: [string, number][],
  extra: Partial<Pick<ReceiverView, "inMailbox" | "skipped" | "fromEpoch" | "since">> = {},
): ReceiverView => ({
  user,
  channel,
  fromEpoch: extra.fromEpoch ?? 0,
  since: extra.since ?? 0,
  shown: shown.map(([activityId, receivedAt]) => ({ activityId, receivedAt })),
  inMailbox: extra.inMailbox ?? new Set(),
  skipped: extra.skipped ?? new Map(),
});
const phases: PhaseWindow[] = [
  { name: "baseline", startedAt: 0, endedAt: 100 },
  { name: "kill", startedAt: 100, backAt: 150, endedAt: 300 },
];

describe("fault accounting", () => {
  it("tells delivered, lost, undecryptable, duplicated and reordered deliveries apart", () => {
    const sent = [
      message("alice", 0, 10),
      message("alice", 1, 20),
      message("alice", 2, 30),
      message("alice", 3, 40),
    ];
    const [baseline] = accountPhases({
      phases,
      sent,
      refusals: [],
      views: [
        // alice-1 shown twice, alice-2 before alice-1 (reordered), alice-3 skipped, alice-0 nowhere.
        view(
          "bob",
          [
            ["alice-2", 50],
            ["alice-1", 51],
            ["alice-1", 52],
          ],
          { skipped: new Map([["alice-3", "cannot decrypt: stale epoch"]]) },
        ),
        // carol: alice-0 reached the mailbox but was never shown.
        view(
          "carol",
          [
            ["alice-1", 50],
            ["alice-2", 51],
            ["alice-3", 52],
          ],
          { inMailbox: new Set(["alice-0", "alice-1", "alice-2", "alice-3"]) },
        ),
        // The sender never owes itself a delivery.
        view("alice", []),
      ],
    });
    expect(baseline).toMatchObject({
      sent: 4,
      expected: 8,
      delivered: 5,
      lost: 1,
      duplicated: 1,
      reordered: 1,
      undecryptable: 2,
    });
    expect(baseline?.examples).toContain("undecryptable: alice #3 -> bob: cannot decrypt: stale epoch");
  });

  it("owes a member who joined later only the messages of the epochs it can read", () => {
    const sent = [message("alice", 0, 10, 1), message("alice", 1, 20, 2)];
    const [baseline] = accountPhases({
      phases,
      sent,
      refusals: [],
      views: [view("gina", [["alice-1", 30]], { fromEpoch: 2 })],
    });
    expect(baseline).toMatchObject({ expected: 1, delivered: 1, lost: 0 });
  });

  it("counts messages and refusals in the phase they were sent in", () => {
    const reports = accountPhases({
      phases,
      sent: [message("alice", 0, 10), message("alice", 1, 120)],
      refusals: [{ at: 110, detail: "502 Bad Gateway" }],
      views: [view("bob", [["alice-0", 11]])],
    });
    expect(reports.map((r) => [r.name, r.sent, r.refused, r.lost])).toEqual([
      ["baseline", 1, 0, 0],
      ["kill", 1, 1, 1],
    ]);
  });

  it("measures recovery until every flow showed a message sent after the faulty part was back", () => {
    const sent = [
      message("alice", 0, 140),
      message("alice", 1, 160),
      message("bob", 0, 170),
      message("bob", 1, 190),
    ];
    const views = [
      view("bob", [
        ["alice-0", 141],
        ["alice-1", 200],
      ]),
      view("alice", [["bob-1", 230]]),
      view("carol", [
        ["alice-1", 180],
        ["bob-0", 175],
      ]),
    ];
    // alice -> bob at 200, bob -> alice at 230 (bob-0 never came), alice -> carol at 180, bob -> carol at 175.
    expect(recoveredAt(150, 300, sent, views)).toBe(230);
    const [, kill] = accountPhases({ phases, sent, refusals: [], views });
    expect(kill?.recoveryMs).toBe(80);
    expect(kill?.slowestFlow).toBe(`${channel} bob -> alice`);
    // A flow that shows nothing sent after the fault: not recovered.
    expect(recoveredAt(150, 300, sent, [view("bob", [["alice-0", 141]])])).toBeNull();
    // A member who joined after the fault was back does not hold that fault's recovery up.
    const joiner = view("gina", [], { since: 250 });
    expect(recoveredAt(150, 300, sent, [...views, joiner])).toBe(230);
  });

  it("lists the targets a phase missed", () => {
    const [, kill] = accountPhases({
      phases,
      sent: [message("alice", 0, 160)],
      refusals: [],
      views: [view("bob", [])],
    });
    if (!kill) throw new Error("no phase");
    expect(missedTargets(kill, SHORT_RUN_TARGETS)).toEqual(["kill: 1 lost", "kill: did not recover"]);
    const slow = { ...kill, lost: 0, recoveryMs: 61_000 };
    expect(missedTargets(slow, SHORT_RUN_TARGETS)).toEqual(["kill: recovery 61.0 s"]);
    expect(missedTargets({ ...slow, recoveryMs: 12_000 }, SHORT_RUN_TARGETS)).toEqual([]);
    expect(reportTable([slow]).split("\n")[1]).toMatch(/^kill\s+1\s+1\s+0\s+0\s+0\s+0\s+0\s+0\s+61\.0 s$/);
  });
});
