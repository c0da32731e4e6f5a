import { setMaxListeners } from "node:events";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ClientEvent, MimiClient, ProviderApi, StateStore } from "@mimi/client";
import { type SplitDeployment, startSplitDeployment } from "../deployment.js";
import { SERVICES, type ServiceName } from "../routes.js";
import type { RestartRecord } from "../supervision.js";
import {
  accountPhases,
  missedTargets,
  type PhaseReport,
  type PhaseWindow,
  type ReceiverView,
  recoveredAt,
  reportTable,
  type SentMessage,
  SHORT_RUN_TARGETS,
} from "./accounting.js";
import {
  type BackingService,
  type BackingServices,
  connectionsOf,
  FAULT_BACKING_SERVICES,
  infra,
} from "./backing-services.js";

/**
 * A scripted fault run against a three-provider split deployment: real MLS clients send over two
 * channels all the time while faults are injected one after another, and every fault gets its numbers
 * (see accounting.ts). The deployment runs on backing services of its own (backing-services.ts).
 */
export type FaultRunLength = "short" | "long";

export interface FaultSuiteOptions {
  length: FaultRunLength;
  /** Keys, service logs, client homes and the report. */
  stateDir: string;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
  backingServices?: BackingServices;
  /** Leave the suite's own backing services running afterwards (a rerun starts faster). */
  keepBackingServices?: boolean;
}

export interface FaultSuiteResult {
  reports: PhaseReport[];
  table: string;
  /** The short run's targets each phase missed (empty: all met). */
  missed: string[];
  /** Remarks on the whole run (mailbox stream interruptions). */
  runNotes: string[];
  restarts: RestartRecord[];
  reportFile: string;
}

/** How long each part of a run lasts. */
interface RunPlan {
  baselineMs: number;
  /** inbox-ingest of the faulty provider stays down this long. */
  ingestDownMs: number;
  /** Kafka, PostgreSQL or Redis stays stopped this long before it is started again. */
  infraDownMs: number;
  /** A phase ends this long after the faulty part was back, recovered or not. */
  recoveryTimeoutMs: number;
  /** After every flow recovered, traffic goes on this long before the next fault. */
  settleMs: number;
  /** Each member sends one message per channel this often. */
  sendEveryMs: number;
  /** After the last phase: how long to wait for late deliveries. */
  drainMs: number;
}

const PLANS: Record<FaultRunLength, RunPlan> = {
  short: {
    baselineMs: 15_000,
    ingestDownMs: 20_000,
    infraDownMs: 0,
    recoveryTimeoutMs: 120_000,
    settleMs: 3_000,
    sendEveryMs: 3_000,
    drainMs: 60_000,
  },
  long: {
    baselineMs: 60_000,
    ingestDownMs: 120_000,
    infraDownMs: 30_000,
    recoveryTimeoutMs: 300_000,
    settleMs: 30_000,
    sendEveryMs: 3_000,
    drainMs: 120_000,
  },
};

/** The provider whose services are killed and whose inbox-ingest goes down. */
const FAULTY_DOMAIN = "b.test";

/**
 * Service settings of the run: the longest delivery retry delay and the mailbox safety poll scaled from
 * hours to seconds, so a recovery is measured in what the services do, not in their production waits.
 * The breaker keeps its production cool-down (1 s, doubling up to its maximum), since that is what
 * bounds how soon a destination that is back gets its backlog.
 */
export const FAULT_SERVICE_ENV: Record<string, string> = {
  MIMI_DELIVERY_RETRY_BASE_MS: "1000",
  MIMI_DELIVERY_RETRY_MAX_DELAY_MS: "10000",
  MIMI_DELIVERY_SCHEDULER_POLL_MS: "500",
  MIMI_MAILBOX_SAFETY_POLL_MS: "5000",
  LOG_LEVEL: "info",
};

/** A set-up request that gets no answer within this is abandoned. */
const REQUEST_TIMEOUT_MS = 30_000;

interface Participant {
  user: string;
  acct: string;
  domain: string;
  client: MimiClient;
}

interface ChannelPlan {
  name: string;
  url: string;
  owner: Participant;
  members: Participant[];
  /** From which epoch each member can read (joiners later than the start). */
  fromEpoch: Map<string, number>;
  /** When each member joined (0 for the members it started with). */
  since: Map<string, number>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A set-up step (not measured) tried again after transient failures of a loaded machine. */
async function retrying<T>(what: string, step: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= attempts) throw new Error(`${what}: ${errorText(error)}`);
      await sleep(2_000 * attempt);
    }
  }
}

const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";

/** fetch with a time limit, for the set-up's requests to a home server. */
const limitedFetch: typeof fetch = (input, init) =>
  fetch(input, init?.signal ? init : { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

export async function runFaultSuite(options: FaultSuiteOptions): Promise<FaultSuiteResult> {
  const plan = PLANS[options.length];
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const backing = options.backingServices ?? FAULT_BACKING_SERVICES;
  const runStarted = Date.now();
  const say = (line: string) => log(`[faults +${((Date.now() - runStarted) / 1000).toFixed(0)}s] ${line}`);
  mkdirSync(options.stateDir, { recursive: true });
  // The databases start fresh, so the clients do too.
  rmSync(join(options.stateDir, "homes"), { recursive: true, force: true });

  say(`starting the suite's own PostgreSQL, Redis and Kafka (${backing.dir})`);
  await infra(backing, "up");
  let deployment: SplitDeployment | undefined;
  const participants: Participant[] = [];
  const stopListening = new AbortController();
  // Every member's stream and its reconnect waits listen to this one signal.
  setMaxListeners(100, stopListening.signal);
  const listeners: Promise<void>[] = [];
  try {
    say("starting the split deployment: a.test, b.test, c.test");
    deployment = await startSplitDeployment({
      domains: ["a.test", "b.test", "c.test"],
      infra: connectionsOf(backing),
      stateDir: options.stateDir,
      prefix: "mimi_faults",
      fresh: true,
      env: FAULT_SERVICE_ENV,
      readyTimeoutMs: 300_000,
      onRestart: (record) =>
        say(
          `supervisor: ${record.domain} ${record.service}-${record.replica} exited (${record.exit}), restart attempt ${record.attempt} in ${record.delayMs} ms`,
        ),
    });
    const running = deployment;

    // ------------------------------------------------------------------ people and channels
    const signUp = async (user: string, domain: string): Promise<Participant> => {
      const server = running.providers.get(domain)?.url ?? "";
      const home = join(options.stateDir, "homes", `${user}@${domain}`);
      const api = new ProviderApi({ server, fetch: limitedFetch });
      const created = await api.createAccount(user, `${user}'s password`);
      const me = await retrying(`${user}@${domain}: me`, () => api.withToken(created.token).me());
      await new StateStore(home).saveAccount({
        server: api.server,
        username: me.username,
        acct: me.acct,
        actor: me.actor,
        token: created.token,
      });
      // No `fetch` of ours: the client then checks other domains' credentials through MIMI_DEV_CONNECT_TO.
      const client = new MimiClient({ home, connectTo: running.connectTo });
      const device = await client.addDevice(`${user}'s laptop`);
      if (!device.keyPackages.ok) {
        // The device exists; only the upload failed (a loaded machine times out): upload again.
        await retrying(`${user}@${domain}: KeyPackages`, () => client.replenishKeyPackages({ force: true }));
      }
      const participant = { user, acct: `${user}@${domain}`, domain, client };
      participants.push(participant);
      return participant;
    };
    say("signing up alice, frank, hank (a.test), bob, dave (b.test), carol, erin, gina (c.test)");
    // One after another: the set-up is not what is measured, and a loaded machine times out less.
    const alice = await signUp("alice", "a.test");
    const bob = await signUp("bob", "b.test");
    const carol = await signUp("carol", "c.test");
    const dave = await signUp("dave", "b.test");
    const erin = await signUp("erin", "c.test");
    const frank = await signUp("frank", "a.test");
    const gina = await signUp("gina", "c.test");
    const hank = await signUp("hank", "a.test");

    const joinUntil = async (participant: Participant, url: string, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await participant.client.sync().catch(() => undefined);
        const found = (await participant.client.channels()).find((channel) => channel.url === url);
        if (found && found.status === "active") return found.epoch;
        if (Date.now() > deadline) throw new Error(`${participant.acct} did not join ${url}`);
        await sleep(500);
      }
    };
    const settle = async (participant: Participant, url: string, what: string) => {
      const settled = await participant.client.waitForChannel(url, { timeoutMs: 120_000 });
      if (!settled.settled) throw new Error(`${participant.acct}: ${what} was not answered`);
      return settled;
    };
    const openChannel = async (
      name: string,
      owner: Participant,
      others: Participant[],
    ): Promise<ChannelPlan> => {
      const created = await owner.client.createChannel(name);
      await settle(owner, created.url, `creating ${name}`);
      const channel: ChannelPlan = {
        name,
        url: created.url,
        owner,
        members: [owner],
        fromEpoch: new Map([[owner.user, 0]]),
        since: new Map([[owner.user, 0]]),
      };
      for (const member of others) {
        await owner.client.addMember(created.url, member.acct);
        await settle(owner, created.url, `adding ${member.acct} to ${name}`);
        await joinUntil(member, created.url);
        channel.members.push(member);
        channel.fromEpoch.set(member.user, 0);
        channel.since.set(member.user, 0);
      }
      return channel;
    };
    say(
      "alice@a.test opens alpha with bob@b.test and carol@c.test; dave@b.test opens beta with erin@c.test and frank@a.test",
    );
    const [alpha, beta] = await Promise.all([
      openChannel("alpha", alice, [bob, carol]),
      openChannel("beta", dave, [erin, frank]),
    ]);
    const channels = [alpha, beta];
    // bob becomes an admin of alpha, so that two members can add at once later.
    const adminNote = await makeAdmin(alice, bob, alpha.url);
    say(`bob as alpha's admin: ${adminNote}`);

    // ------------------------------------------------------------------ traffic
    const sent: SentMessage[] = [];
    const refusals: { at: number; detail: string }[] = [];
    const skipped = new Map<string, Map<string, string>>();
    const warnings = new Map<string, number>();
    const verdicts: { user: string; at: number; text: string }[] = [];
    const noteEvents = (user: string, events: readonly ClientEvent[]) => {
      for (const event of events) {
        if ((event.type === "accepted" || event.type === "rejected") && event.what === "add") {
          const text =
            event.type === "accepted" ? "accepted" : `rejected (${event.reason}; retried: ${event.retried})`;
          verdicts.push({ user, at: Date.now(), text });
        }
        if (event.type !== "skipped") continue;
        const byUser = skipped.get(user) ?? new Map<string, string>();
        byUser.set(event.activityId, event.reason);
        skipped.set(user, byUser);
      }
    };
    const listen = (participant: Participant) => {
      listeners.push(
        participant.client.listen((event) => noteEvents(participant.user, [event]), {
          signal: stopListening.signal,
          reconnectMs: 1_000,
          onWarning: () => warnings.set(participant.user, (warnings.get(participant.user) ?? 0) + 1),
        }),
      );
    };
    for (const participant of [alice, bob, carol, dave, erin, frank]) listen(participant);

    let sending = true;
    const senderLoops: Promise<void>[] = [];
    for (const channel of channels) {
      for (const [index, member] of channel.members.entries()) {
        senderLoops.push(
          (async () => {
            // Spread the members' sends over the interval.
            await sleep((plan.sendEveryMs / channel.members.length) * index);
            let seq = 0;
            while (sending) {
              const started = Date.now();
              try {
                // A sync first, so skipped events are seen (send's own sync does not report them).
                noteEvents(member.user, (await member.client.sync()).events);
                const message = await member.client.send(
                  channel.url,
                  `${channel.name} ${member.user} #${seq}`,
                );
                sent.push({
                  activityId: message.activityId,
                  channel: channel.url,
                  sender: member.user,
                  seq,
                  sentAt: Date.now(),
                  epoch: message.epoch,
                });
                seq += 1;
              } catch (error) {
                refusals.push({
                  at: Date.now(),
                  detail: `${member.user} in ${channel.name}: ${errorText(error)}`,
                });
              }
              await sleep(Math.max(0, plan.sendEveryMs - (Date.now() - started)));
            }
          })(),
        );
      }
    }

    // What each member shows now; the mailbox and skipped events are added at the end.
    const liveViews = async (): Promise<ReceiverView[]> => {
      const views: ReceiverView[] = [];
      for (const channel of channels) {
        for (const member of channel.members) {
          const { messages } = await member.client.messages(channel.url);
          views.push({
            user: member.user,
            channel: channel.url,
            fromEpoch: channel.fromEpoch.get(member.user) ?? 0,
            since: channel.since.get(member.user) ?? 0,
            shown: messages
              .filter((message) => message.direction === "in")
              .map((message) => ({
                activityId: message.activityId,
                receivedAt: Date.parse(message.receivedAt),
              })),
            inMailbox: new Set(),
            skipped: new Map(),
          });
        }
      }
      return views;
    };

    // ------------------------------------------------------------------ phases
    const phases: PhaseWindow[] = [];
    const notes = new Map<string, string[]>();
    const note = (phase: string, line: string) => {
      notes.set(phase, [...(notes.get(phase) ?? []), line]);
      say(`${phase}: ${line}`);
    };
    /** Injects a fault, waits until its part is back, then until every flow recovered (or the timeout). */
    const phase = async (name: string, inject: () => Promise<void>) => {
      const startedAt = Date.now();
      say(`${name}: injecting`);
      let backAt: number;
      try {
        await inject();
        backAt = Date.now();
        note(name, `back after ${((backAt - startedAt) / 1000).toFixed(1)} s`);
      } catch (error) {
        backAt = Date.now();
        note(name, `the fault itself failed: ${errorText(error)}`);
      }
      for (;;) {
        const now = Date.now();
        const recovered = recoveredAt(backAt, now, sent, await liveViews());
        if (recovered !== null) {
          say(
            `${name}: every flow shows new messages again after ${((recovered - backAt) / 1000).toFixed(1)} s`,
          );
          await sleep(plan.settleMs);
          break;
        }
        if (now - backAt > plan.recoveryTimeoutMs) {
          note(name, `not recovered within ${plan.recoveryTimeoutMs / 1000} s`);
          break;
        }
        await sleep(1_000);
      }
      const endedAt = Date.now();
      const restarted = running.restarts.filter((r) => r.exitedAt >= startedAt && r.exitedAt < endedAt);
      if (restarted.length > 0) {
        note(
          name,
          `restarts: ${restarted.map((r) => `${r.domain} ${r.service} (${r.exit}, attempt ${r.attempt})`).join(", ")}`,
        );
      }
      phases.push({ name, startedAt, backAt, endedAt });
    };

    say(`baseline: ${plan.baselineMs / 1000} s of traffic without a fault`);
    const baselineStarted = Date.now();
    await sleep(plan.baselineMs);
    phases.push({ name: "baseline", startedAt: baselineStarted, endedAt: Date.now() });

    const processOf = (service: ServiceName) => {
      const found = running.providers.get(FAULTY_DOMAIN)?.processes.find((proc) => proc.service === service);
      if (!found) throw new Error(`no ${service} on ${FAULTY_DOMAIN}`);
      return found;
    };
    for (const service of SERVICES) {
      await phase(`SIGKILL ${FAULTY_DOMAIN} ${service}`, async () => {
        const proc = processOf(service);
        await running.kill(proc);
        await running.whenReady(proc, 300_000);
      });
    }
    const restartBacking = (service: BackingService) => async () => {
      await infra(backing, "down", service);
      await sleep(plan.infraDownMs);
      await infra(backing, "up", service);
    };
    const held = plan.infraDownMs > 0 ? `, down ${plan.infraDownMs / 1000} s` : "";
    await phase(`restart Kafka${held}`, restartBacking("kafka"));
    await phase(`restart PostgreSQL${held}`, restartBacking("postgres"));
    await phase(`restart Redis${held}`, restartBacking("redis"));
    await phase(`${FAULTY_DOMAIN} inbox-ingest down ${plan.ingestDownMs / 1000} s`, async () => {
      const proc = processOf("inbox-ingest");
      await running.kill(proc, { downForMs: plan.ingestDownMs });
      await running.whenReady(proc, 300_000);
    });
    const commitsPhase = "concurrent commits";
    const commitsStarted = Date.now();
    await phase(commitsPhase, async () => {
      // Two members of alpha add at once: one commit wins the epoch, the other is rejected and retried.
      const adds = await Promise.allSettled([
        bob.client.addMember(alpha.url, gina.acct),
        alice.client.addMember(alpha.url, hank.acct),
      ]);
      for (const [index, outcome] of adds.entries()) {
        const who = index === 0 ? "bob adds gina" : "alice adds hank";
        note(
          commitsPhase,
          `${who}: ${outcome.status === "fulfilled" ? "submitted" : errorText(outcome.reason)}`,
        );
      }
      for (const [adder, joiner] of [
        [bob, gina],
        [alice, hank],
      ] as const) {
        const settled = await adder.client.waitForChannel(alpha.url, { timeoutMs: 120_000 });
        noteEvents(adder.user, settled.events);
        // Verdicts may also have reached the adder through its stream or a send's sync.
        const seen = verdicts
          .filter((v) => v.user === adder.user && v.at >= commitsStarted)
          .map((v) => v.text);
        note(
          commitsPhase,
          `${adder.user}'s add of ${joiner.user}: ${settled.settled ? "settled" : "not settled"}; verdicts seen: ${seen.join(", ") || "none"}`,
        );
      }
      for (const joiner of [gina, hank]) {
        try {
          const epoch = await joinUntil(joiner, alpha.url, 60_000);
          alpha.members.push(joiner);
          alpha.fromEpoch.set(joiner.user, epoch);
          alpha.since.set(joiner.user, Date.now());
          listen(joiner);
          note(commitsPhase, `${joiner.user} joined alpha at epoch ${epoch}`);
        } catch (error) {
          note(commitsPhase, errorText(error));
        }
      }
    });

    // ------------------------------------------------------------------ drain and account
    sending = false;
    await Promise.all(senderLoops);
    say(
      `traffic stopped: ${sent.length} messages sent, ${refusals.length} sends refused; waiting for late deliveries`,
    );
    const drainDeadline = Date.now() + plan.drainMs;
    for (;;) {
      const views = await liveViews();
      const outstanding = sent.filter((message) =>
        views.some(
          (view) =>
            view.channel === message.channel &&
            view.user !== message.sender &&
            message.epoch >= view.fromEpoch &&
            !view.shown.some((line) => line.activityId === message.activityId),
        ),
      ).length;
      if (outstanding === 0 || Date.now() > drainDeadline) {
        say(`${outstanding} deliveries still outstanding`);
        break;
      }
      await sleep(2_000);
    }
    stopListening.abort();
    await Promise.allSettled(listeners);
    for (const participant of participants) {
      try {
        noteEvents(participant.user, (await participant.client.sync()).events);
      } catch (error) {
        say(`final sync of ${participant.acct} failed: ${errorText(error)}`);
      }
    }
    const views: ReceiverView[] = [];
    for (const view of await liveViews()) {
      const participant = participants.find((p) => p.user === view.user);
      const inMailbox = new Set<string>();
      if (participant) {
        let after = 0;
        for (;;) {
          const items = await participant.client.inbox({ after, limit: 500 });
          for (const item of items) inMailbox.add(item.activityId);
          if (items.length < 500) break;
          after = items.at(-1)?.cursor ?? after;
        }
      }
      views.push({ ...view, inMailbox, skipped: skipped.get(view.user) ?? new Map() });
    }
    const runNotes = [...warnings].map(
      ([user, count]) => `${user}'s mailbox stream was interrupted ${count} times in the run`,
    );
    const reports = accountPhases({ phases, sent, refusals, views, notes });
    for (const report of reports) {
      for (const channel of channels)
        report.slowestFlow = report.slowestFlow?.replace(channel.url, channel.name);
    }
    const table = reportTable(reports);
    const missed = reports.flatMap((report) => missedTargets(report, SHORT_RUN_TARGETS));
    const reportFile = join(options.stateDir, "faults-report.json");
    writeFileSync(
      reportFile,
      JSON.stringify(
        { length: options.length, reports, missed, runNotes, restarts: running.restarts },
        null,
        2,
      ),
    );
    writeFileSync(join(options.stateDir, "faults-report.txt"), `${table}\n`);
    return { reports, table, missed, runNotes, restarts: [...running.restarts], reportFile };
  } finally {
    stopListening.abort();
    await Promise.allSettled(listeners);
    for (const participant of participants) await participant.client.close().catch(() => {});
    await deployment?.stop();
    if (!options.keepBackingServices) await infra(backing, "down").catch(() => {});
  }
}

/**
 * Makes `member` an admin of the channel (Update{mimi:Role}, submitted by the owner through its home
 * server; the client SDK has no call for it) and waits for the channel's verdict in the owner's mailbox.
 */
async function makeAdmin(owner: Participant, member: Participant, channelUrl: string): Promise<string> {
  const account = await owner.client.account();
  const memberActor = (await member.client.account()).actor;
  const api = new ProviderApi({ server: account.server, token: account.token, fetch: limitedFetch });
  const id = `${account.actor}/activities/${crypto.randomUUID()}`;
  await api.postActivity(account.username, {
    "@context": ["https://www.w3.org/ns/activitystreams", { mimi: "https://w3id.org/mimi-activitypub/ns#" }],
    id,
    type: "Update",
    actor: account.actor,
    target: channelUrl,
    to: [`${channelUrl}/followers`],
    object: { type: "mimi:Role", "mimi:member": memberActor, "mimi:role": "admin" },
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const item of await owner.client.inbox({ after: 0, limit: 500 })) {
      const object = item.activity.object;
      const objectId = typeof object === "string" ? object : (object as { id?: unknown } | undefined)?.id;
      if (objectId !== id) continue;
      if (item.activity.type === "Accept") return "accepted";
      if (item.activity.type === "Reject") return `rejected: ${String(item.activity.summary ?? "")}`;
    }
    await sleep(500);
  }
  return "no verdict within 60 s";
}
