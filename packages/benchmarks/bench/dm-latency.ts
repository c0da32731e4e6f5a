import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { createTextContent, dmMessageActivity, encodeContent, MimiClient } from "@mimi/client";
import { encryptApplicationMessage, fromWireObject, type loadCiphersuite, processIncoming } from "@mimi/mls";
import {
  type BenchMember,
  type LatencySummary,
  listenToMailbox,
  mailboxCursorOf,
  type PacedRunResult,
  runPacedSequence,
  storedState,
  summarizeLatencies,
  waitUntil,
} from "../src/index.js";

export interface DmLatencyResult {
  groupUrl: string;
  offered: PacedRunResult;
  latency: LatencySummary;
  received: number;
  lost: number;
  decryptFailures: number;
  firstFailure?: string;
}

/** Where the scenario's providers are reached, and its ciphersuite. */
export interface DmPhaseTools {
  connectTo: string;
  cs: Awaited<ReturnType<typeof loadCiphersuite>>;
}

/**
 * The one-to-one line of the e2e scenario: alice starts a DM with bob through the SDK (its group on
 * a.test), then posts `count` DM messages at `rate` per second, at most `inFlight` pending, each
 * addressed to both participants and delivered by a.test straight to bob's inbox on b.test (no
 * channel forwards it, docs/protocol.md section 14.4). Latency is from the start of alice's POST to
 * bob's decryption, as for the channel line. Messages are encrypted before the loop.
 */
export async function measureOneToOne(
  alice: BenchMember,
  bob: BenchMember,
  tools: DmPhaseTools,
  options: { rate: number; count: number; inFlight: number; drainTimeoutMs: number },
): Promise<DmLatencyResult> {
  const aliceClient = new MimiClient({ home: alice.home, connectTo: tools.connectTo });
  const bobClient = new MimiClient({ home: bob.home, connectTo: tools.connectTo });
  let groupUrl: string;
  try {
    const started = await aliceClient.dm([bob.handle], "a one-to-one for the benchmark", {
      timeoutMs: 30_000,
    });
    const url = started.conversation.group?.url;
    if (url === undefined) throw new Error("the one-to-one has no group");
    groupUrl = url;
    let joined = false;
    const deadline = Date.now() + 30_000;
    while (!joined && Date.now() < deadline) {
      await bobClient.sync();
      joined = (await bobClient.dms()).some((conversation) => conversation.sendingGroup === groupUrl);
    }
    if (!joined) throw new Error("bob did not join the one-to-one");
  } finally {
    await aliceClient.close();
    await bobClient.close();
  }

  let aliceState = await storedState(alice, groupUrl);
  let bobState = await storedState(bob, groupUrl);
  const participantActors = new Map([
    [alice.acct, alice.actor],
    [bob.acct, bob.actor],
  ]);
  const group = { url: groupUrl, participants: [...participantActors.keys()].sort(), participantActors };
  const activities: Array<Record<string, unknown> & { id: string }> = [];
  for (let i = 0; i < options.count; i++) {
    const content = createTextContent({ senderUri: alice.acct, roomUri: groupUrl, text: `dm ${i}` });
    const encrypted = await encryptApplicationMessage(aliceState, tools.cs, encodeContent(content));
    aliceState = encrypted.newState;
    activities.push({
      ...dmMessageActivity(alice.actor, group, encrypted.message),
      "@context": ACTIVITY_CONTEXT,
    });
  }

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let decryptFailures = 0;
  let firstFailure: string | undefined;
  const stream = new AbortController();
  const listening = listenToMailbox(bob, await mailboxCursorOf(bob), stream.signal, async (activity) => {
    const started = sentAt.get(String(activity.id));
    if (started === undefined) return;
    const wire = fromWireObject(activity.object, "PrivateMessage");
    const processed = wire.ok ? await processIncoming(bobState, tools.cs, wire.bytes) : undefined;
    if (!processed?.ok || processed.kind !== "application") {
      decryptFailures += 1;
      firstFailure ??= !wire.ok ? wire.detail : processed?.ok === false ? processed.detail : "not a message";
      return;
    }
    bobState = processed.newState;
    sentAt.delete(String(activity.id));
    latencies.push(performance.now() - started);
  });
  const offered = await runPacedSequence(
    options.rate,
    activities.length,
    (activities.length / options.rate) * 1000,
    async (index) => {
      const activity = activities[index];
      if (!activity) return;
      sentAt.set(activity.id, performance.now());
      await alice.api.postActivity(alice.username, activity);
    },
    options.inFlight,
  );
  await waitUntil(() => latencies.length >= offered.sent, options.drainTimeoutMs);
  stream.abort();
  await listening;
  return {
    groupUrl,
    offered,
    latency: summarizeLatencies(latencies),
    received: latencies.length,
    lost: offered.sent - latencies.length,
    decryptFailures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}
