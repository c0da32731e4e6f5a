import { randomBytes } from "node:crypto";
import {
  type CiphersuiteImpl,
  type ClientState,
  commit,
  createGroup,
  createGroupInfo,
  loadCiphersuite,
  toWireObject,
} from "@mimi/mls";
import type { Sql } from "@mimi/store";
import type { ChannelInboxItem, DeliveryRequest } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockedAddRefusal } from "../src/domain/blocks.js";
import type { ChannelSequencerContext } from "../src/service.js";
import {
  A,
  activity,
  actors,
  createTestCas,
  createTestContext,
  createTestDatabase,
  deliveryRequests,
  enrol,
  handleToSettled,
  inboxItem,
  recordingBus,
  type TestCas,
  type TestClient,
} from "./harness.js";

/** The channel's server refuses to add a user of a domain its operator blocked, before any MLS work. */
let sql: Sql;
let cas: TestCas;
let cs: CiphersuiteImpl;
let bus: ReturnType<typeof recordingBus>;
let ctx: ChannelSequencerContext;
let alice: TestClient;
let bob: TestClient;
let aliceState: ClientState;

const groupId = randomBytes(16);
const channelId = groupId.toString("base64url");
const C = `${A}/channels/${channelId}`;

async function handle(item: ChannelInboxItem): Promise<DeliveryRequest[]> {
  const before = deliveryRequests(bus).length;
  expect(await handleToSettled(ctx, item)).toEqual({ kind: "ok" });
  return deliveryRequests(bus).slice(before);
}

function answerOf(published: DeliveryRequest[], type: "Accept" | "Reject") {
  const answer = published.find((request) => request.activity.type === type);
  if (!answer) throw new Error(`no ${type} in ${JSON.stringify(published.map((p) => p.activity))}`);
  return answer;
}

beforeAll(async () => {
  [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
  await sql.query("insert into identity.blocked_domains (domain, source) values ('evil.test', 'config')");
  bus = recordingBus();
  ctx = createTestContext({ sql, bus, cas }).ctx;
  const validateCredential = async (...args: Parameters<typeof ctx.credentials.verify>) =>
    (await ctx.credentials.verify(...args)).ok;
  alice = await enrol(cs, cas.a, "alice", actors.alice);
  bob = await enrol(cs, cas.b, "bob", actors.bob);
  aliceState = await createGroup({
    groupId,
    keyPackage: alice.keyPackage,
    privateKeyPackage: alice.privateKeyPackage,
    cipherSuite: cs,
    validateCredential,
  });
  const create = activity(actors.alice, C, {
    type: "Create",
    object: { type: "Service", id: C, name: "guarded" },
    "mimi:groupInfo": toWireObject(await createGroupInfo(aliceState, cs)),
  });
  answerOf(await handle(inboxItem(channelId, create)), "Accept");
});

afterAll(async () => {
  await ctx.close();
  await bus.close();
  await sql.close();
});

async function addOf(object: string) {
  const output = await commit(aliceState, cs, { add: [bob.keyPackage] });
  if (!output.welcome) throw new Error("no welcome");
  return activity(actors.alice, C, {
    type: "Add",
    object,
    "mimi:commit": toWireObject(output.commit),
    "mimi:welcome": toWireObject(output.welcome),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

describe("Adds and domain blocks", () => {
  it("rejects the Add of a blocked domain's user, subdomains too, with mimi:reason domainBlocked", async () => {
    for (const object of ["http://evil.test/users/eve", "https://x.evil.test:8443/users/imp"]) {
      const add = await addOf(object);
      const reject = answerOf(await handle(inboxItem(channelId, add)), "Reject");
      expect(reject.activity).toMatchObject({
        object: add.id,
        "mimi:reason": "domainBlocked",
        "mimi:currentEpoch": 0,
      });
      expect(String(reject.activity.summary)).toMatch(/does not federate with .*evil\.test/);
    }
    expect(await ctx.store.followers(channelId)).toEqual([actors.alice]);
  });

  it("still adds users of other domains", async () => {
    answerOf(await handle(inboxItem(channelId, await addOf(actors.bob))), "Accept");
    expect(await ctx.store.followers(channelId)).toContain(actors.bob);
  });

  it("leaves unparsable objects to the other checks", () => {
    expect(blockedAddRefusal("not a url", new Set(["evil.test"]))).toBeUndefined();
    expect(blockedAddRefusal("http://notevil.test/users/x", new Set(["evil.test"]))).toBeUndefined();
  });
});
