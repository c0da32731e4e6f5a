import { randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { type Bus, type HandlerOutcome, settledOutcome } from "@mimi/bus";
import { createDomainCa, type DomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import { identityMigrations } from "@mimi/identity";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  createGroup,
  createGroupInfo,
  createKeyPackage,
  generateSignatureKeyPair,
  joinFromWelcome,
  type KeyPackage,
  type PrivateKeyPackage,
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

/** Everyone in the group but the committer processes an accepted commit; joiners use the Welcome. */
export async function deliverToMembers(
  { clients, cs, validateCredential }: TestGroup,
  committer: string,
  output: CommitOutput,
  joiners: string[] = [],
): Promise<void> {
  for (const [name, member] of Object.entries(clients)) {
    if (name === committer || !member.state || joiners.includes(name)) continue;
    const processed = await processIncoming(member.state, cs, output.commit);
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
