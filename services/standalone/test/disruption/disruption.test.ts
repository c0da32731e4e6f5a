import { spawn } from "node:child_process";
import { once } from "node:events";
import type { ChannelSummary } from "@mimi/client";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, disruptCommand, openDeployment } from "../e2e/deployment.js";

/**
 * Traffic through a disruption of the deployment: while the deployment's `disrupt` command runs (on a
 * cluster: a pod of each service of each release deleted in turn, then each release upgraded to a
 * new image tag), tove@a.test, uma@b.test and vik@c.test keep sending to two channels, one hosted
 * on a.test and one on b.test, reading their mailboxes before each send. No send or read fails for good (the
 * client repeats what a server could not answer for now, which is safe), and once the deployment is
 * whole every member reads every message exactly once. Runs only against a deployment that names a
 * `disrupt` command (see ../e2e/deployment.ts); it is not part of the end-to-end suite (test/e2e), which
 * runs whole against every deployment.
 */
const command = disruptCommand();
// Names no other test of the suite signs up: it runs against the deployment the suite used.
const USERS = ["tove", "uma", "vik"] as const;
/** Pause between one user's sends (each send reads the mailbox first). */
const ROUND_PAUSE_MS = 1_000;
/** Rounds each user still runs once the disruption is over. */
const ROUNDS_AFTER = 3;

let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);
let hostedOnA: ChannelSummary;
let hostedOnB: ChannelSummary;

async function addAndJoin(owner: string, url: string, members: [string, string][]): Promise<void> {
  for (const [user, domain] of members) {
    await client(owner).addMember(url, `${user}@${domain}`);
    expect((await client(owner).waitForChannel(url, { timeoutMs: 60_000 })).settled).toBe(true);
    await clients.syncUntil(user, "joining", async () =>
      (await client(user).channels()).some((c) => c.url === url),
    );
  }
}

describe.skipIf(!command)("a deployment disrupted during traffic", () => {
  beforeAll(async () => {
    deployment = await openDeployment();
    await clients.signUp("tove", "a.test");
    await clients.signUp("uma", "b.test");
    await clients.signUp("vik", "c.test");
    hostedOnA = await client("tove").createChannel("disrupted-a");
    expect((await client("tove").waitForChannel(hostedOnA.url, { timeoutMs: 60_000 })).settled).toBe(true);
    await addAndJoin("tove", hostedOnA.url, [
      ["uma", "b.test"],
      ["vik", "c.test"],
    ]);
    hostedOnB = await client("uma").createChannel("disrupted-b");
    expect((await client("uma").waitForChannel(hostedOnB.url, { timeoutMs: 60_000 })).settled).toBe(true);
    await addAndJoin("uma", hostedOnB.url, [
      ["tove", "a.test"],
      ["vik", "c.test"],
    ]);
    // Every member at the last epoch of both channels before the traffic starts.
    for (const user of USERS)
      for (const url of [hostedOnA.url, hostedOnB.url])
        await clients.syncUntil(user, "the last epoch", async () => (await clients.epochOf(user, url)) === 2);
  }, 300_000);

  afterAll(async () => {
    await clients.closeAll();
    await deployment?.close();
  });

  it("loses nothing, duplicates nothing, and fails no request for good", async () => {
    const sent = new Map<string, string[]>([
      [hostedOnA.url, []],
      [hostedOnB.url, []],
    ]);
    const failures: string[] = [];
    let disrupted = false;
    const disruption = spawn("bash", ["-c", command ?? "false"], { stdio: "inherit" });
    const exited = once(disruption, "exit").then(([code]) => {
      disrupted = true;
      return code as number | null;
    });

    const traffic = async (user: string) => {
      let after = 0;
      for (let round = 0; after < ROUNDS_AFTER; round += 1) {
        if (disrupted) after += 1;
        const url = round % 2 === 0 ? hostedOnA.url : hostedOnB.url;
        const text = `${user} ${round}`;
        try {
          await client(user).send(url, text);
          sent.get(url)?.push(text);
        } catch (error) {
          failures.push(`${user} sending "${text}": ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
      }
    };
    await Promise.all(USERS.map(traffic));
    expect(await exited, "the disrupt command's exit code").toBe(0);
    expect(failures).toEqual([]);

    for (const user of USERS)
      for (const [url, texts] of sent)
        await clients.syncUntil(
          user,
          `every message in ${url}`,
          async () => {
            const held = await clients.texts(user, url);
            return texts.every((text) => held.includes(text));
          },
          300_000,
        );
    for (const user of USERS)
      for (const [url, texts] of sent) {
        const held = await clients.texts(user, url);
        const counts = new Map<string, number>();
        for (const text of held) counts.set(text, (counts.get(text) ?? 0) + 1);
        expect(
          texts.filter((text) => counts.get(text) !== 1),
          `${user}: messages in ${url} not held exactly once`,
        ).toEqual([]);
      }
    console.log(
      `disruption: ${[...sent.values()].reduce((sum, texts) => sum + texts.length, 0)} messages sent, every one read by every member`,
    );
  }, 1_800_000);
});
