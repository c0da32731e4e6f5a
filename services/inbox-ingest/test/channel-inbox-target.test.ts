import { channelInboxTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  activityId,
  type FakeRemote,
  type IngestWorld,
  postSigned,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

const REMOTE = "http://remote.test";
const ROOM = "http://b.test/channels/room1";

let world: IngestWorld;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor;

beforeAll(async () => {
  world = await startIngestWorld();
  ({ remote, ingest } = world);
  carol = remote.addActor(REMOTE, "/users/carol", "rsa");
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

/** A member's message as a foreign client may send it: no `target`, addressed to the followers or not at all. */
function messageWithoutTarget(fields: Record<string, unknown> = {}) {
  return {
    id: activityId(REMOTE),
    type: "Create",
    actor: carol.id,
    object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAE=" },
    ...fields,
  };
}

function channelInboxItems() {
  return ingest.bus.published
    .filter((batch) => batch.topic === channelInboxTopic.name)
    .flatMap((batch) => batch.messages.map((message) => channelInboxTopic.parse(message)));
}

describe("a member's message without target", () => {
  it("at the channel's own inbox goes to that channel's sequencer, marked as received there", async () => {
    for (const fields of [{ to: [`${ROOM}/followers`] }, {}]) {
      ingest.bus.published.length = 0;
      const activity = messageWithoutTarget(fields);
      const response = await postSigned(
        `${ingest.base}/channels/room1/inbox`,
        JSON.stringify(activity),
        carol,
      );
      expect(response.status).toBe(202);
      // Passed on as received: the sequencer, which knows the channel from `via`, supplies the target.
      expect(channelInboxItems()).toEqual([
        {
          ok: true,
          value: expect.objectContaining({
            channelId: "room1",
            activity,
            authenticatedActor: carol.id,
            via: "channelInbox",
          }),
        },
      ]);
    }
  });

  it("at the shared inbox reaches the channel only through its addressing, marked as the shared inbox's", async () => {
    const addressed = messageWithoutTarget({ to: [`${ROOM}/followers`] });
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(addressed), carol);
    expect(response.status).toBe(202);
    // The sequencer refuses it (nothing at the shared inbox names the channel for a missing target).
    expect(channelInboxItems()).toEqual([
      { ok: true, value: expect.objectContaining({ channelId: "room1", via: "sharedInbox" }) },
    ]);

    ingest.bus.published.length = 0;
    const unaddressed = messageWithoutTarget();
    const dropped = await postSigned(`${ingest.base}/inbox`, JSON.stringify(unaddressed), carol);
    expect(dropped.status).toBe(202);
    expect(channelInboxItems()).toEqual([]);
  });
});
