import { randomBytes, randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { settledOutcome } from "@mimi/bus";
import {
  type ChannelSequencerContext,
  channelIdForGroupId,
  channelSequencerMigrations,
  createChannelSequencerContext,
  createCredentialAuthority,
  handleChannelInboxItem,
  staticAcctResolver,
} from "@mimi/channel-sequencer";
import { createDomainCa, type DomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import { identityMigrations } from "@mimi/identity";
import {
  acceptAnyCredential,
  type CiphersuiteImpl,
  type ClientState,
  commit,
  createGroup,
  createGroupInfo,
  createKeyPackage,
  generateSignatureKeyPair,
  type KeyPackage,
  loadCiphersuite,
  type PrivateKeyPackage,
  toWireObject,
  x509Credential,
} from "@mimi/mls";
import { readProviderConfig } from "@mimi/provider-config";
import type { ChannelInboxItem } from "@mimi/topics";
import {
  median,
  openBenchBus,
  openBenchSql,
  ratePerSecond,
  runClosedLoop,
  type Scenario,
} from "../src/index.js";
import { BENCH_KEK, numberSetting } from "./settings.js";

const DOMAIN = "a.test";
/** Channels handled at once: the bus runs one record at a time per partition, several partitions in parallel. */
const CONCURRENCY = 8;

interface PreparedChannel {
  channelId: string;
  url: string;
  adds: ChannelInboxItem[];
  /** An add commit made on the creation epoch, submitted once the channel has moved on. */
  stale: ChannelInboxItem;
}

/**
 * Commits accepted per second by the channel sequencer across 100 channels: real MLS add commits are
 * prepared before the timed loop (each channel's commits in epoch order) and handed to
 * `handleChannelInboxItem` as the bus consumer would; then the time to reject a stale commit.
 */
export const sequencerScenario: Scenario = {
  name: "sequencer",
  async run(environment) {
    const channels = numberSetting("BENCH_SEQUENCER_CHANNELS", 100);
    const addsPerChannel = numberSetting("BENCH_SEQUENCER_ADDS", 3);
    const { sql, kind: sqlKind } = await openBenchSql(environment, [
      actorKeyMigrations,
      identityMigrations,
      channelSequencerMigrations,
    ]);
    const { bus, kind: busKind } = await openBenchBus(environment, "mimi-bench-sequencer", [
      "delivery.requests",
    ]);
    const [cs, ca] = await Promise.all([loadCiphersuite(), createDomainCa(DOMAIN).then(loadDomainCa)]);
    const config = readProviderConfig({
      MIMI_DOMAIN: DOMAIN,
      MIMI_PUBLIC_URL: `http://${DOMAIN}`,
      MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
    });
    const acctTable: Record<string, string> = {};
    const ctx: ChannelSequencerContext = createChannelSequencerContext(
      { config, sql, bus, logger: environment.logger },
      {
        credentials: createCredentialAuthority({
          issuersFor: async (domain) =>
            domain === DOMAIN
              ? { ok: true, issuersPem: [ca.certificatePem] }
              : { ok: false, detail: `no issuers for ${domain}` },
        }),
        resolveAcct: staticAcctResolver(acctTable),
      },
    );

    const setupStarted = performance.now();
    const prepared: PreparedChannel[] = [];
    const usernames: string[] = [];
    for (let c = 0; c < channels; c++) {
      const owner = `s${c}_${environment.runId}`;
      const joiners = Array.from({ length: addsPerChannel + 1 }, (_, k) => `j${c}_${k}_${environment.runId}`);
      usernames.push(owner, ...joiners);
      for (const name of [owner, ...joiners]) acctTable[`acct:${name}@${DOMAIN}`] = config.urls.actor(name);
      prepared.push(
        await prepareChannel(ctx, cs, ca, config.urls.actor(owner), owner, joiners, (name) =>
          config.urls.actor(name),
        ),
      );
    }
    await sql.query(
      "insert into identity.accounts (username, password_hash) select unnest($1::text[]), 'unused' on conflict do nothing",
      [usernames],
    );
    // Creating the channels is setup, not measured.
    for (const channel of prepared) {
      const created = await settledOutcome(await handleChannelInboxItem(ctx, createItemOf(channel)));
      if (created.kind !== "ok") throw new Error(`channel creation: ${JSON.stringify(created)}`);
    }
    const setupMs = performance.now() - setupStarted;

    let next = 0;
    const timed = await runClosedLoop(prepared.length, CONCURRENCY, async () => {
      const channel = prepared[next++];
      if (!channel) return false;
      for (const item of channel.adds) {
        const outcome = await settledOutcome(await handleChannelInboxItem(ctx, item));
        if (outcome.kind !== "ok") return false;
      }
      return true;
    });
    let accepted = 0;
    for (const channel of prepared) {
      const state = await ctx.store.channelState(channel.channelId);
      accepted += Math.min(state?.epoch ?? 0, addsPerChannel);
    }

    const staleTimes: number[] = [];
    let staleRejected = 0;
    for (const channel of prepared.slice(0, 20)) {
      const begun = performance.now();
      await settledOutcome(await handleChannelInboxItem(ctx, channel.stale));
      staleTimes.push(performance.now() - begun);
      const state = await ctx.store.channelState(channel.channelId);
      if (state?.epoch === addsPerChannel) staleRejected += 1;
    }

    await ctx.close();
    await bus.close();
    await sql.query("delete from identity.accounts where username = any($1::text[])", [usernames]);
    await sql.close();
    const commits = channels * addsPerChannel;
    return {
      metrics: [
        {
          scenario: "6 sequencer",
          name: `commits accepted/s across ${channels} channels`,
          value: ratePerSecond(accepted, timed.elapsedMs),
          unit: "/s",
        },
        {
          scenario: "6 sequencer",
          name: "stale-commit rejection, median",
          value: median(staleTimes),
          unit: "ms",
        },
      ],
      notes: [
        `channel-sequencer on ${sqlKind}, delivery requests published to the ${busKind}; ${channels} channels x ${addsPerChannel} add commits (x509 credentials from a test CA) prepared in ${(setupMs / 1000).toFixed(1)} s, handled ${CONCURRENCY} channels at a time`,
        `${accepted} of ${commits} commits accepted in ${(timed.elapsedMs / 1000).toFixed(2)} s; ${staleRejected} of ${staleTimes.length} stale commits rejected with the epoch unchanged`,
      ],
      details: { accepted, commits, elapsedMs: timed.elapsedMs, staleTimes, setupMs },
    };
  },
};

interface Enrolled {
  keyPackage: KeyPackage;
  privateKeyPackage: PrivateKeyPackage;
}

async function enrol(cs: CiphersuiteImpl, ca: DomainCa, user: string): Promise<Enrolled> {
  const keys = await generateSignatureKeyPair(cs);
  const { chainDer } = await issueClientCertificate(ca, {
    user,
    domain: ca.domain,
    clientId: `${user}-phone`,
    signaturePublicKey: keys.publicKey,
  });
  return createKeyPackage({ credential: x509Credential(chainDer), signatureKeyPair: keys, cipherSuite: cs });
}

const createItems = new WeakMap<PreparedChannel, ChannelInboxItem>();

function createItemOf(channel: PreparedChannel): ChannelInboxItem {
  const item = createItems.get(channel);
  if (!item) throw new Error("no Create prepared");
  return item;
}

async function prepareChannel(
  ctx: ChannelSequencerContext,
  cs: CiphersuiteImpl,
  ca: DomainCa,
  ownerActor: string,
  owner: string,
  joiners: string[],
  actorOf: (name: string) => string,
): Promise<PreparedChannel> {
  const groupId = randomBytes(16);
  const channelId = channelIdForGroupId(groupId);
  const url = ctx.urls.channel(channelId);
  const creator = await enrol(cs, ca, owner);
  let state: ClientState = await createGroup({
    groupId,
    keyPackage: creator.keyPackage,
    privateKeyPackage: creator.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  const item = (activity: Record<string, unknown>): ChannelInboxItem => ({
    channelId,
    activity: {
      "@context": ACTIVITY_CONTEXT,
      id: `${ownerActor}/activities/${randomUUID()}`,
      actor: ownerActor,
      target: url,
      to: [`${url}/followers`],
      ...activity,
    },
    authenticatedActor: ownerActor,
    via: "outbox",
    receivedAt: new Date().toISOString(),
  });
  const create = item({
    type: "Create",
    object: { type: "Service", id: url, name: `bench ${channelId.slice(0, 8)}` },
    "mimi:groupInfo": toWireObject(await createGroupInfo(state, cs)),
  });
  const creationState = state;
  const adds: ChannelInboxItem[] = [];
  const [staleJoiner, ...joining] = joiners;
  if (!staleJoiner) throw new Error("no joiners");
  for (const joiner of joining) {
    const enrolled = await enrol(cs, ca, joiner);
    const output = await commit(state, cs, { add: [enrolled.keyPackage] });
    if (!output.welcome) throw new Error("an add commit without a Welcome");
    adds.push(
      item({
        type: "Add",
        object: actorOf(joiner),
        "mimi:commit": toWireObject(output.commit),
        "mimi:welcome": toWireObject(output.welcome),
        "mimi:groupInfo": toWireObject(output.groupInfo),
      }),
    );
    state = output.newState;
  }
  const staleOutput = await commit(creationState, cs, {
    add: [(await enrol(cs, ca, staleJoiner)).keyPackage],
  });
  if (!staleOutput.welcome) throw new Error("an add commit without a Welcome");
  const stale = item({
    type: "Add",
    object: actorOf(staleJoiner),
    "mimi:commit": toWireObject(staleOutput.commit),
    "mimi:welcome": toWireObject(staleOutput.welcome),
    "mimi:groupInfo": toWireObject(staleOutput.groupInfo),
  });
  const channel: PreparedChannel = { channelId, url, adds, stale };
  createItems.set(channel, create);
  return channel;
}
