import { commit, encryptApplicationMessage, toWireObject } from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, actors, addActivity, answerOf, inboxItem, TestChannel } from "./harness.js";

/**
 * What the channel forwards is addressed to its followers, which members' providers require of a
 * forward: a submission that names the channel as `target` but leaves `C/followers` out of `to` is
 * forwarded with it added. alice (owner) and bob (b.test) are members; carol is added below.
 */

const world = new TestChannel();
const { channelId, url: C, handle, client, stateOf, deliverCommit } = world;
const F = `${C}/followers`;

beforeAll(async () => {
  await world.startWithMembers("addressing", ["alice", "bob"]);
  await world.enrol("carol", actors.carol);
});
afterAll(() => world.close());

describe("a submission without the followers in to", () => {
  it("a message is accepted and forwarded with F in to, the rest of to kept", async () => {
    const sent = await encryptApplicationMessage(stateOf("bob"), world.cs, new TextEncoder().encode("hi"));
    client("bob").state = sent.newState;
    const message = activity(actors.bob, C, {
      type: "Create",
      to: [actors.alice],
      object: toWireObject(sent.message),
    });
    const published = await handle(inboxItem(channelId, message, "sharedInbox"));
    answerOf(published, "Accept");
    const forward = published.find((request) => request.activityId === message.id);
    expect(forward?.signAs).toBe(C);
    expect(forward?.activity.to).toEqual([actors.alice, F]);
  });

  it("an Add is accepted and forwarded with F as its to", async () => {
    const output = await commit(stateOf("alice"), world.cs, { add: [client("carol").keyPackage] });
    const { to: _omitted, ...add } = addActivity(actors.alice, C, actors.carol, output);
    const published = await handle(inboxItem(channelId, add));
    answerOf(published, "Accept");
    expect(published.find((request) => request.activityId === add.id)?.activity.to).toEqual([F]);
    await deliverCommit("alice", output, ["carol"]);
  });
});
