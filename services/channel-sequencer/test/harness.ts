import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { hashToken } from "@mimi/auth";
import {
  type Bus,
  type BusMessage,
  createInProcessBus,
  type HandlerOutcome,
  settledOutcome,
} from "@mimi/bus";
import { createDomainCa, type DomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import { identityMigrations } from "@mimi/identity";
import {
  type CiphersuiteImpl,
  type ClientState,
  createKeyPackage,
  generateSignatureKeyPair,
  type KeyPackage,
  type PrivateKeyPackage,
  type SignatureKeyPair,
  x509Credential,
} from "@mimi/mls";
import { readProviderConfig } from "@mimi/provider-config";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import { type ChannelInboxItem, type DeliveryRequest, deliveryRequestsTopic } from "@mimi/topics";
import { pino } from "pino";
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
export async function createTestDatabase(): Promise<Sql> {
  const sql = await createPgliteSql();
  await migrateAll(sql, [actorKeyMigrations, identityMigrations, channelSequencerMigrations]);
  return sql;
}

/** Creates a local account and returns a bearer token for it (as identity would). */
export async function createAccount(sql: Sql, username: string): Promise<string> {
  const token = `mimi_test-${username}-${randomUUID()}`;
  await sql.query(
    "insert into identity.accounts (username, password_hash) values ($1, 'unused') on conflict do nothing",
    [username],
  );
  await sql.query("insert into identity.tokens (token_hash, username) values ($1, $2)", [
    hashToken(token),
    username,
  ]);
  return token;
}

/** An in-process bus that records what is published and can be made to fail once. */
export function recordingBus(): Bus & {
  published: { topic: string; messages: BusMessage[] }[];
  failNextPublish: boolean;
} {
  const inner = createInProcessBus({ partitions: 2, retryDelaysMs: [50] });
  const bus = {
    published: [] as { topic: string; messages: BusMessage[] }[],
    failNextPublish: false,
    async publish(topic: string, messages: BusMessage[]) {
      if (bus.failNextPublish) {
        bus.failNextPublish = false;
        throw new Error("broker unavailable");
      }
      bus.published.push({ topic, messages });
      await inner.publish(topic, messages);
    },
    subscribe: inner.subscribe.bind(inner),
    consumers: inner.consumers.bind(inner),
    close: inner.close.bind(inner),
  };
  return bus;
}

/** Every delivery request published so far (decoded). */
export function deliveryRequests(bus: ReturnType<typeof recordingBus>): DeliveryRequest[] {
  return bus.published
    .filter((batch) => batch.topic === deliveryRequestsTopic.name)
    .flatMap((batch) => batch.messages)
    .map((message) => {
      const parsed = deliveryRequestsTopic.parse(message);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.value;
    });
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
  let logText = "";
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _encoding, callback) {
        logText += String(chunk);
        callback();
      },
    }),
  );
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
  return { ctx, logs: { text: () => logText } };
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
