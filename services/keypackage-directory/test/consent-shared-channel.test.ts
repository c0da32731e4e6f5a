import { randomBytes } from "node:crypto";
import { createPgliteSql, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  createAccount,
  enrolDevice,
  listen,
  startTestProvider,
  type TestProvider,
  uploadFresh,
} from "./harness.js";

/**
 * Consent is asked of strangers only: someone already in a channel of this provider with the user has
 * shared one, and their claim goes through without an invite.
 */
let sql: Sql;
let p: TestProvider;
beforeAll(async () => {
  sql = await createPgliteSql();
  const listener = await listen();
  p = await startTestProvider({ domain: "a.test", listener, sql });
});
afterAll(async () => {
  await p?.close();
  await sql?.close();
});

async function userWithKeyPackages(requiresConsent: boolean) {
  const username = `u_${randomBytes(4).toString("hex")}`;
  const token = await createAccount(p, username);
  const device = await enrolDevice(p, token, username);
  expect((await uploadFresh(p, token, device, 3)).status).toBe(201);
  if (requiresConsent) {
    const set = await fetch(`${p.base}/api/v1/me/consent`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ required: true }),
    });
    expect(set.status).toBe(200);
  }
  return { username, token, actor: `http://a.test/users/${username}` };
}

/** A channel hosted here whose members' credentials name these actors (as the sequencer stores it). */
async function channelWith(creator: string, ...others: string[]) {
  const actors = [creator, ...others];
  const id = `c_${randomBytes(4).toString("hex")}`;
  await sql.query(
    `insert into channels.channels (id, name, attributed_to, ciphersuite, epoch, public_state, group_info, last_sequence)
     values ($1, 'lunch', $2, 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519', 1, '\\x00', '\\x00', 1)`,
    [id, creator],
  );
  for (const [leaf, actor] of actors.entries()) {
    await sql.query(
      "insert into channels.members (channel_id, leaf_index, actor_url, acct) values ($1, $2, $3, $4)",
      [id, leaf, actor, `acct:${actor.split("/").pop()}@a.test`],
    );
  }
}

const claim = (requester: { token: string }, target: { username: string }) =>
  call(`${p.base}/api/v1/keypackages/claim`, {
    token: requester.token,
    body: { acct: `${target.username}@a.test` },
  });

describe("consent and shared channels", () => {
  it("serves a claim by someone the user shares a channel with, without an invite", async () => {
    const kim = await userWithKeyPackages(true);
    const lou = await userWithKeyPackages(false);
    await channelWith(lou.actor, kim.actor);
    const served = await claim(lou, kim);
    expect(served.status).toBe(200);
    const invites = await call(`${p.base}/api/v1/me/invites`, { token: kim.token });
    expect(invites.body.invites).toEqual([]);
  });

  it("still asks consent of someone who shares a channel only with others", async () => {
    const max = await userWithKeyPackages(true);
    const ned = await userWithKeyPackages(false);
    const other = await userWithKeyPackages(false);
    await channelWith(ned.actor, other.actor);
    await channelWith(max.actor, other.actor);
    const refused = await claim(ned, max);
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toBe("consentRequired");
  });
});
