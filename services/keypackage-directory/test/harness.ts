import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { channelSequencerMigrations } from "@mimi/channel-sequencer";
import { signProofOfPossession } from "@mimi/credentials";
import { type KeyResolver, signRequest } from "@mimi/http-signatures";
import { createIdentityContext, identityMigrations, identityRouter, prepareIdentity } from "@mimi/identity";
import {
  type CiphersuiteImpl,
  createKeyPackage,
  encodeKeyPackage,
  generateSignatureKeyPair,
  loadCiphersuite,
  type SignatureKeyPair,
  x509Credential,
} from "@mimi/mls";
import { createOutboundHttp } from "@mimi/outbound-http";
import { readProviderConfig } from "@mimi/provider-config";
import { createApp, createLogger, createMetrics } from "@mimi/service-kit";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import {
  createKeyPackageDirectoryContext,
  type KeyPackageDirectoryContext,
  keyPackageDirectoryMigrations,
  keyPackageDirectoryRouter,
  prepareKeyPackageDirectory,
} from "../src/service.js";

/** A listening socket whose handler is set later, so two providers can know each other's ports. */
export interface Listener {
  port: number;
  serve(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

export async function listen(): Promise<Listener> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    serve: (next) => {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TestProvider {
  domain: string;
  /** Where tests reach it directly (127.0.0.1). */
  base: string;
  sql: Sql;
  directory: KeyPackageDirectoryContext;
  close(): Promise<void>;
}

export const TEST_KEK = Buffer.alloc(32, 7).toString("base64");

/**
 * One provider (identity + keypackage directory on one app) at `http://<domain>`, reached through
 * `connectTo` by other test providers. Migrations are idempotent, so several providers may share `sql`.
 */
export async function startTestProvider(options: {
  domain: string;
  listener: Listener;
  connectTo?: string;
  sql?: Sql;
  directory?: Partial<KeyPackageDirectoryContext>;
}): Promise<TestProvider> {
  const sql = options.sql ?? (await createPgliteSql());
  // The claim policy reads channel memberships (consent): the provider's database has every schema.
  await migrateAll(sql, [
    actorKeyMigrations,
    identityMigrations,
    channelSequencerMigrations,
    keyPackageDirectoryMigrations,
  ]);
  const config = readProviderConfig({
    MIMI_DOMAIN: options.domain,
    MIMI_PUBLIC_URL: `http://${options.domain}`,
    MIMI_KEY_ENCRYPTION_KEY: TEST_KEK,
    MIMI_DEV_CONNECT_TO: options.connectTo ?? "",
  });
  const logger = createLogger({ name: `kp-test-${options.domain}`, level: "silent" });
  const identity = createIdentityContext({ config, sql, logger });
  await prepareIdentity(identity);
  const directory = createKeyPackageDirectoryContext({ config, sql, logger }, options.directory ?? {});
  await prepareKeyPackageDirectory(directory);
  const app = createApp({
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [identityRouter(identity), keyPackageDirectoryRouter(directory)],
  });
  options.listener.serve(app);
  return {
    domain: options.domain,
    base: `http://127.0.0.1:${options.listener.port}`,
    sql,
    directory,
    close: async () => {
      await options.listener.close();
      await directory.close();
      if (!options.sql) await sql.close();
    },
  };
}

export async function call(
  url: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

export async function createAccount(provider: TestProvider, username: string): Promise<string> {
  const created = await call(`${provider.base}/api/v1/accounts`, {
    body: { username, password: `${username}'s password` },
  });
  if (created.status !== 201) throw new Error(`account ${username}: ${JSON.stringify(created.body)}`);
  return String(created.body.token);
}

/** A device with an issued X.509 credential, able to make KeyPackages. */
export interface TestDevice {
  clientId: string;
  chain: Uint8Array[];
  signatureKeyPair: SignatureKeyPair;
  cs: CiphersuiteImpl;
}

let defaultSuite: Promise<CiphersuiteImpl> | undefined;

export async function enrolDevice(
  provider: TestProvider,
  token: string,
  username: string,
  name = "laptop",
): Promise<TestDevice> {
  defaultSuite ??= loadCiphersuite();
  const cs = await defaultSuite;
  const created = await call(`${provider.base}/api/v1/clients`, { body: { name }, token });
  const clientId = String(created.body.id);
  const signatureKeyPair = await generateSignatureKeyPair(cs);
  const challenge = await call(`${provider.base}/api/v1/clients/${clientId}/credential/challenge`, {
    body: {},
    token,
  });
  const signature = signProofOfPossession(signatureKeyPair.privateKey, {
    challenge: String(challenge.body.challenge),
    user: username,
    domain: provider.domain,
    clientId,
  });
  const issued = await call(`${provider.base}/api/v1/clients/${clientId}/credential`, {
    body: {
      challenge: String(challenge.body.challenge),
      signaturePublicKey: Buffer.from(signatureKeyPair.publicKey).toString("base64"),
      signature: Buffer.from(signature).toString("base64"),
    },
    token,
  });
  if (issued.status !== 201) throw new Error(`credential: ${JSON.stringify(issued.body)}`);
  const chain = (issued.body.chain as string[]).map((der) => new Uint8Array(Buffer.from(der, "base64")));
  return { clientId, chain, signatureKeyPair, cs };
}

export async function keyPackageBytes(
  device: TestDevice,
  options: {
    lastResort?: boolean;
    validForSeconds?: number;
    nowSeconds?: number;
    cs?: CiphersuiteImpl;
    chain?: Uint8Array[];
  } = {},
): Promise<Uint8Array> {
  const { keyPackage } = await createKeyPackage({
    credential: x509Credential(options.chain ?? device.chain),
    signatureKeyPair: device.signatureKeyPair,
    cipherSuite: options.cs ?? device.cs,
    ...(options.lastResort ? { lastResort: true } : {}),
    ...(options.validForSeconds ? { validForSeconds: options.validForSeconds } : {}),
    ...(options.nowSeconds ? { nowSeconds: options.nowSeconds } : {}),
  });
  return encodeKeyPackage(keyPackage);
}

export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** Uploads `count` fresh KeyPackages (and optionally a last resort) for a device. */
export async function uploadFresh(
  provider: TestProvider,
  token: string,
  device: TestDevice,
  count: number,
  withLastResort = true,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const keyPackages = await Promise.all(Array.from({ length: count }, () => keyPackageBytes(device)));
  const lastResort = withLastResort ? await keyPackageBytes(device, { lastResort: true }) : undefined;
  return call(`${provider.base}/api/v1/keypackages`, {
    body: {
      clientId: device.clientId,
      keyPackages: keyPackages.map(b64),
      ...(lastResort ? { lastResort: b64(lastResort) } : {}),
    },
    token,
  });
}

/** An actor of a claiming server and its RSA key pair. */
export interface TestSigner {
  actor: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/**
 * Claiming servers' actors with fresh keys, and a resolver that knows exactly their keys (key fetching
 * itself is covered in federation.test); `resolved` lists every key id it was asked for.
 */
export function testSigners(actors: string[]): {
  signers: TestSigner[];
  keys: KeyResolver;
  resolved: string[];
} {
  const signers = actors.map((actor) => ({ actor, ...generateKeyPairSync("rsa", { modulusLength: 2048 }) }));
  const resolved: string[] = [];
  const keys: KeyResolver = {
    resolve: async (keyId) => {
      resolved.push(keyId);
      const signer = signers.find((candidate) => `${candidate.actor}#main-key` === keyId);
      return signer
        ? { ok: true, key: { keyId, owner: signer.actor, publicKey: signer.publicKey } }
        : { ok: false, reason: "keyFetchError", detail: `unknown key ${keyId}` };
    },
  };
  return { signers, keys, resolved };
}

/** A provider's answer to a claim: its status, Retry-After and content type, and the parsed body. */
export interface ClaimAnswer {
  status: number;
  retryAfter: string | undefined;
  type: string;
  body: Record<string, unknown>;
}

/** A claim of `username`'s KeyPackages signed by `signer`, sent to the provider at its public host a.test. */
export async function claimSignedBy(
  provider: TestProvider,
  username: string,
  signer: TestSigner,
): Promise<ClaimAnswer> {
  const url = `http://a.test/users/${username}/keyPackages/claim`;
  const body = JSON.stringify({ ciphersuites: [1], "mimi:nonce": randomUUID() });
  const headers = signRequest(
    { method: "POST", url, headers: { "content-type": "application/activity+json" }, body },
    { keyId: `${signer.actor}#main-key`, privateKey: signer.privateKey },
  );
  const client = createOutboundHttp({
    production: false,
    connectTo: new Map([["a.test", `127.0.0.1:${new URL(provider.base).port}`]]),
  });
  try {
    const res = await client.request(url, { method: "POST", headers, body });
    if (!res.ok) throw new Error(res.detail);
    const retryAfter = res.headers["retry-after"];
    return {
      status: res.status,
      retryAfter: typeof retryAfter === "string" ? retryAfter : undefined,
      type: String(res.headers["content-type"]),
      body: JSON.parse(Buffer.from(res.body).toString("utf8")) as Record<string, unknown>,
    };
  } finally {
    await client.close();
  }
}

/** A new local account with one device that uploaded `keyPackages` fresh KeyPackages. */
export async function userWithDevice(
  provider: TestProvider,
  keyPackages: number,
): Promise<{ username: string; token: string; device: TestDevice }> {
  const username = `u_${randomBytes(4).toString("hex")}`;
  const token = await createAccount(provider, username);
  const device = await enrolDevice(provider, token, username);
  const uploaded = await uploadFresh(provider, token, device, keyPackages);
  if (uploaded.status !== 201) throw new Error(`upload answered ${uploaded.status}`);
  return { username, token, device };
}

/** The KeyPackages the first device of `token`'s account has left in its pool. */
export async function available(provider: TestProvider, token: string): Promise<number> {
  const counts = await call(`${provider.base}/api/v1/keypackages`, { token });
  return (counts.body.clients as Array<{ available: number }>)[0]?.available ?? -1;
}
