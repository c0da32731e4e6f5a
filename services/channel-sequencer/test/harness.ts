import { randomBytes, randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { type Bus, type HandlerOutcome, settledOutcome } from "@mimi/bus";
import { createDomainCa, type DomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import { identityMigrations } from "@mimi/identity";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  commit,
  createGroup,
  createGroupInfo,
  createKeyPackage,
  generateSignatureKeyPair,
  joinFromWelcome,
  type KeyPackage,
  loadCiphersuite,
  type PrivateKeyPackage,
  type ProcessOptions,
  processIncoming,
  type SignatureKeyPair,
  toWireObject,
  type ValidateCredential,
  x509Credential,
} from "@mimi/mls";
import { readProviderConfig } from "@mimi/provider-config";
import type { Sql } from "@mimi/store";
import {
  captureLogs,
  createTestDatabase as createKitDatabase,
  insertAccount,
  recordingBus as kitRecordingBus,
  publishedOn,
  type RecordingBus,
} from "@mimi/testkit";
import { type ChannelInboxItem, type DeliveryRequest, deliveryRequestsTopic } from "@mimi/topics";
import { expect } from "vitest";
import {
  type ChannelSequencerContext,
  channelSequencerMigrations,
  createChannelSequencerContext,
  createCredentialAuthority,
  handleChannelInboxItem,
  staticAcctResolver,
} from "../src/service.js";

export const KEK = Buffer.alloc(32, 5).toString("base64");
export const A = "http://a.test";

/** A shared in-memory database with every schema the service reads. */
export function createTestDatabase(): Promise<Sql> {
  return createKitDatabase([actorKeyMigrations, identityMigrations, channelSequencerMigrations]);
}

/** Creates a local account and returns a bearer token for it (as identity would). */
export const createAccount = insertAccount;

/** An in-process bus that records what is published and can be made to fail once. */
export function recordingBus(): RecordingBus {
  return kitRecordingBus({ partitions: 2, retryDelaysMs: [50] });
}

/** Every delivery request published so far (decoded). */
export function deliveryRequests(bus: RecordingBus): DeliveryRequest[] {
  return publishedOn(bus, deliveryRequestsTopic);
}

export interface TestCas {
  a: DomainCa;
  b: DomainCa;
}

export async function createTestCas(): Promise<TestCas> {
  return {
    a: await loadDomainCa(await createDomainCa("a.test")),
    b: await loadDomainCa(await createDomainCa("b.test")),
  };
}

/** Actors of the test world: a.test is this provider, b.test and c.test are remote. */
export const actors = {
  alice: `${A}/users/alice`,
  carol: `${A}/users/carol`,
  erin: `${A}/users/erin`,
  bob: "http://b.test/users/bob",
  dave: "http://b.test/users/dave",
};

export const acctTable: Record<string, string> = {
  "acct:alice@a.test": actors.alice,
  "acct:carol@a.test": actors.carol,
  "acct:erin@a.test": actors.erin,
  "acct:bob@b.test": actors.bob,
  "acct:dave@b.test": actors.dave,
};

export interface TestLogs {
  text(): string;
}

/** The sequencer of provider a.test over `sql` and `bus`, with static issuers and acct table. */
export function createTestContext(options: {
  sql: Sql;
  bus: Bus;
  cas: TestCas;
  env?: Record<string, string>;
  overrides?: Partial<ChannelSequencerContext>;
}): { ctx: ChannelSequencerContext; logs: TestLogs } {
  const config = readProviderConfig({
    MIMI_DOMAIN: "a.test",
    MIMI_PUBLIC_URL: A,
    MIMI_KEY_ENCRYPTION_KEY: KEK,
    ...options.env,
  });
  const { logger, text } = captureLogs();
  const ctx = createChannelSequencerContext(
    { config, sql: options.sql, bus: options.bus, logger },
    {
      credentials: createCredentialAuthority({
        issuersFor: async (domain) => {
          const ca = domain === "a.test" ? options.cas.a : domain === "b.test" ? options.cas.b : undefined;
          return ca
            ? { ok: true, issuersPem: [ca.certificatePem] }
            : { ok: false, detail: `no issuers for ${domain}` };
        },
      }),
      resolveAcct: staticAcctResolver(acctTable),
      ...options.overrides,
    },
  );
  return { ctx, logs: { text } };
}

/** One MLS client with an x509 credential issued by its domain's CA. */
export interface TestClient {
  user: string;
  actor: string;
  keys: SignatureKeyPair;
  keyPackage: KeyPackage;
  privateKeyPackage: PrivateKeyPackage;
  state?: ClientState;
}

export async function enrol(
  cs: CiphersuiteImpl,
  ca: DomainCa,
  user: string,
  actor: string,
): Promise<TestClient> {
  const keys = await generateSignatureKeyPair(cs);
  const { chainDer } = await issueClientCertificate(ca, {
    user,
    domain: ca.domain,
    clientId: `${user}-phone`,
    signaturePublicKey: keys.publicKey,
  });
  const bundle = await createKeyPackage({
    credential: x509Credential(chainDer),
    signatureKeyPair: keys,
    cipherSuite: cs,
  });
  return { user, actor, keys, ...bundle };
}

/** A fresh activity by `actor` addressed to the channel through `target`. */
export function activity(
  actor: string,
  channelUrl: string,
  body: Record<string, unknown>,
): Record<string, unknown> & { id: string } {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: `${actor}/activities/${randomUUID()}`,
    actor,
    target: channelUrl,
    to: [`${channelUrl}/followers`],
    ...body,
  };
}

export function inboxItem(
  channelId: string,
  submitted: Record<string, unknown>,
  via: ChannelInboxItem["via"] = "outbox",
): ChannelInboxItem {
  return {
    channelId,
    activity: submitted,
    authenticatedActor: String(submitted.actor),
    via,
    receivedAt: new Date().toISOString(),
  };
}

/** Handles an item and waits for its final outcome as the bus decides it (a rejected pending one is `retry`). */
export async function handleToSettled(
  ...args: Parameters<typeof handleChannelInboxItem>
): Promise<HandlerOutcome> {
  return settledOutcome(await handleChannelInboxItem(...args));
}

/** The clients of a test channel's members by name, and what they need to follow its commits. */
export interface TestGroup {
  clients: Record<string, TestClient>;
  cs: CiphersuiteImpl;
  validateCredential: ValidateCredential;
}

export function memberClient(clients: Record<string, TestClient>, name: string): TestClient {
  const found = clients[name];
  if (!found) throw new Error(`no client ${name}`);
  return found;
}

export function memberState(clients: Record<string, TestClient>, name: string): ClientState {
  const state = memberClient(clients, name).state;
  if (!state) throw new Error(`${name} is not in the group`);
  return state;
}

/**
 * Everyone in the group but the committer processes an accepted commit (with `options`, the checks
 * members apply); joiners use the Welcome.
 */
export async function deliverToMembers(
  { clients, cs, validateCredential }: TestGroup,
  committer: string,
  output: Pick<CommitOutput, "commit" | "newState" | "welcome">,
  joiners: string[] = [],
  options: ProcessOptions = {},
): Promise<void> {
  for (const [name, member] of Object.entries(clients)) {
    if (name === committer || !member.state || joiners.includes(name)) continue;
    const processed = await processIncoming(member.state, cs, output.commit, options);
    if (!processed.ok) throw new Error(`${name}: ${processed.detail}`);
    if (processed.kind !== "commit") throw new Error(`${name} saw no commit`);
    member.state = processed.removedFromGroup ? undefined : processed.newState;
  }
  memberClient(clients, committer).state = output.newState;
  for (const name of joiners) {
    if (!output.welcome) throw new Error("no welcome");
    const joiner = memberClient(clients, name);
    const joined = await joinFromWelcome({
      welcome: output.welcome,
      keyPackage: joiner.keyPackage,
      privateKeyPackage: joiner.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    if (!joined.ok) throw new Error(`${name} could not join: ${joined.detail}`);
    joiner.state = joined.state;
  }
}

/** `by` adds `object` to the channel with `output` (a commit with a Welcome). */
export function addActivity(
  by: string,
  channelUrl: string,
  object: string,
  output: CommitOutput,
): Record<string, unknown> & { id: string } {
  if (!output.welcome) throw new Error("no welcome");
  return activity(by, channelUrl, {
    type: "Add",
    object,
    "mimi:commit": toWireObject(output.commit),
    "mimi:welcome": toWireObject(output.welcome),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

/** `by` removes `object` from the channel with `output` (a commit taking out its leaves). */
export function removeActivity(
  by: string,
  channelUrl: string,
  object: string,
  output: CommitOutput,
): Record<string, unknown> & { id: string } {
  return activity(by, channelUrl, {
    type: "Remove",
    object,
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

/** `by` updates the leaf of `member` (their own unless said otherwise) with `output`. */
export function keyUpdateActivity(
  by: string,
  channelUrl: string,
  output: CommitOutput,
  member: string = by,
): Record<string, unknown> & { id: string } {
  return activity(by, channelUrl, {
    type: "Update",
    object: { type: "mimi:KeyUpdate", "mimi:member": member },
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

/** `creator`'s new MLS group, the state a channel starts from. */
export function newGroup(
  creator: TestClient,
  groupId: Uint8Array,
  cs: CiphersuiteImpl,
  validateCredential: ValidateCredential,
): Promise<ClientState> {
  return createGroup({
    groupId,
    keyPackage: creator.keyPackage,
    privateKeyPackage: creator.privateKeyPackage,
    cipherSuite: cs,
    validateCredential,
  });
}

/** `by` creates the channel `name` at `channelUrl` over `state`, its new group. */
export async function createChannelActivity(
  by: string,
  channelUrl: string,
  name: string,
  state: ClientState,
  cs: CiphersuiteImpl,
): Promise<Record<string, unknown> & { id: string }> {
  return activity(by, channelUrl, {
    type: "Create",
    object: { type: "Service", id: channelUrl, name },
    "mimi:groupInfo": toWireObject(await createGroupInfo(state, cs)),
  });
}

/** The accepting or refusing answer among what one submission published. */
export function answerOf(published: DeliveryRequest[], type: "Accept" | "Reject"): DeliveryRequest {
  const answer = published.find((request) => request.activity.type === type);
  if (!answer) throw new Error(`no ${type} in ${JSON.stringify(published.map((p) => p.activity))}`);
  return answer;
}

/**
 * A submission the channel must refuse, with the `mimi:reason` it must give (and a summary matching
 * `summary`, if given); it arrives `via` the inbox unless said otherwise.
 */
export interface Refusal {
  name: string;
  submitted: Record<string, unknown> & { id: string };
  reason: string;
  summary?: RegExp;
  via?: ChannelInboxItem["via"];
}

interface RunningService {
  sql: Sql;
  cas: TestCas;
  cs: CiphersuiteImpl;
  bus: RecordingBus;
  ctx: ChannelSequencerContext;
  validateCredential: ValidateCredential;
}

/**
 * One channel of provider a.test over a fresh database and bus, with the MLS clients of its members.
 * Its ids are known at once (tests build activities with them); the service exists after `start`.
 * The methods are bound, so a test may take them apart: `const { handle, stateOf } = world`.
 */
export class TestChannel {
  readonly groupId: Uint8Array = randomBytes(16);
  readonly channelId = Buffer.from(this.groupId).toString("base64url");
  readonly url = `${A}/channels/${this.channelId}`;
  readonly clients: Record<string, TestClient> = {};
  #running?: RunningService;

  /** Starts the service; `seed` writes to the database before the service reads it. */
  async start(options: { seed?: (sql: Sql) => Promise<unknown> } = {}): Promise<void> {
    const [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
    await options.seed?.(sql);
    const bus = recordingBus();
    const { ctx } = createTestContext({ sql, bus, cas });
    const validateCredential: ValidateCredential = async (credential, key) =>
      (await ctx.credentials.verify(credential, key)).ok;
    this.#running = { sql, cas, cs, bus, ctx, validateCredential };
  }

  get sql(): Sql {
    return this.#service().sql;
  }
  get cas(): TestCas {
    return this.#service().cas;
  }
  get cs(): CiphersuiteImpl {
    return this.#service().cs;
  }
  get bus(): RecordingBus {
    return this.#service().bus;
  }
  get ctx(): ChannelSequencerContext {
    return this.#service().ctx;
  }
  get validateCredential(): ValidateCredential {
    return this.#service().validateCredential;
  }

  /** Starts the service; the first member creates the channel `name` and adds the others, in order. */
  startWithMembers = async (name: string, members: (keyof typeof actors)[]): Promise<void> => {
    await this.start();
    for (const member of members) await this.enrol(member, actors[member]);
    const [creator, ...added] = members;
    await this.create(name, creator);
    for (const member of added) await this.add(member, creator);
  };

  /** Gives `actor` a client called `name`, its credential issued by the CA of the actor's domain. */
  enrol = async (name: string, actor: string): Promise<TestClient> => {
    const ca = new URL(actor).hostname === "b.test" ? this.cas.b : this.cas.a;
    const user = new URL(actor).pathname.split("/").at(-1) ?? name;
    const enrolled = await enrol(this.cs, ca, user, actor);
    this.clients[name] = enrolled;
    return enrolled;
  };

  client = (name: string): TestClient => memberClient(this.clients, name);
  stateOf = (name: string): ClientState => memberState(this.clients, name);

  /** Submits one item (to `replica`, another context of the service, if given): its outcome and what it published. */
  submit = async (
    item: ChannelInboxItem,
    replica: ChannelSequencerContext = this.ctx,
  ): Promise<{ outcome: HandlerOutcome; published: DeliveryRequest[] }> => {
    const before = deliveryRequests(this.bus).length;
    const outcome = await handleToSettled(replica, item);
    return { outcome, published: deliveryRequests(this.bus).slice(before) };
  };

  /** Submits one item the service must settle as handled; what it published. */
  handle = async (item: ChannelInboxItem): Promise<DeliveryRequest[]> => {
    const { outcome, published } = await this.submit(item);
    expect(outcome).toEqual({ kind: "ok" });
    return published;
  };

  /**
   * Everyone in the group but the committer processes an accepted commit (with `options`, the checks
   * members apply); joiners use the Welcome.
   */
  deliverCommit = (
    committer: string,
    output: Pick<CommitOutput, "commit" | "newState" | "welcome">,
    joiners: string[] = [],
    options: ProcessOptions = {},
  ): Promise<void> =>
    deliverToMembers(
      { clients: this.clients, cs: this.cs, validateCredential: this.validateCredential },
      committer,
      output,
      joiners,
      options,
    );

  /** `by` (a client's name) creates the group and the channel `name` over it; the channel accepts. */
  create = async (name: string, by = "alice"): Promise<void> => {
    const creator = this.client(by);
    creator.state = await newGroup(creator, this.groupId, this.cs, this.validateCredential);
    const created = await createChannelActivity(creator.actor, this.url, name, creator.state, this.cs);
    answerOf(await this.handle(inboxItem(this.channelId, created)), "Accept");
  };

  /** `by` commits the Add of `name`'s client; the channel accepts and `name` joins from the Welcome. */
  add = async (name: string, by = "alice"): Promise<void> => {
    const output = await commit(this.stateOf(by), this.cs, { add: [this.client(name).keyPackage] });
    const added = addActivity(this.client(by).actor, this.url, this.client(name).actor, output);
    answerOf(await this.handle(inboxItem(this.channelId, added)), "Accept");
    await this.deliverCommit(by, output, [name]);
  };

  /**
   * Submits each refusal alone: the channel answers with one Reject of its own, carrying the reason,
   * `currentEpoch` and any summary asked for, and what `snapshot` shows stays as `before`.
   */
  expectRefused = async <T>(
    refusals: Refusal[],
    expected: { currentEpoch: number; snapshot: () => Promise<T>; before: T },
  ): Promise<void> => {
    for (const refusal of refusals) {
      const published = await this.handle(
        inboxItem(this.channelId, refusal.submitted, refusal.via ?? "inbox"),
      );
      expect(
        published.map((request) => request.activity.type),
        refusal.name,
      ).toEqual(["Reject"]);
      expect(published[0]?.activity, refusal.name).toMatchObject({
        actor: this.url,
        object: refusal.submitted.id,
        "mimi:currentEpoch": expected.currentEpoch,
        "mimi:reason": refusal.reason,
        to: [refusal.submitted.actor],
      });
      if (refusal.summary) {
        expect(String(published[0]?.activity.summary), refusal.name).toMatch(refusal.summary);
      }
      expect(await expected.snapshot(), refusal.name).toEqual(expected.before);
    }
  };

  /** The channel's epoch, last sequence, followers, roles and departed members, to compare before and after. */
  membership = async () => {
    const channel = await this.ctx.store.channelState(this.channelId);
    return {
      epoch: channel?.epoch,
      lastSequence: channel?.lastSequence,
      followers: await this.ctx.store.followers(this.channelId),
      roles: Object.fromEntries((await this.ctx.store.roles(this.channelId)) ?? []),
      departed: channel?.departed.map((member) => member.actorUrl),
    };
  };

  /** The leaves of `actor` the channel holds as departed (what a member's client finds by credential). */
  departedLeavesOf = async (actor: string): Promise<number[]> => {
    const channel = await this.ctx.store.channelState(this.channelId);
    return (channel?.departed ?? []).filter((m) => m.actorUrl === actor).map((m) => m.leafIndex);
  };

  close = async (): Promise<void> => {
    const running = this.#service();
    await running.ctx.close();
    await running.bus.close();
    await running.sql.close();
  };

  #service(): RunningService {
    if (!this.#running) throw new Error("the test channel's service is not started");
    return this.#running;
  }
}
