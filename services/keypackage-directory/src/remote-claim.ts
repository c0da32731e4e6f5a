import { randomUUID } from "node:crypto";
import { ACTIVITY_JSON, type Acct, formatAcct, JRD_JSON } from "@mimi/activitypub";
import type { ActorKeyStore } from "@mimi/actor-keys";
import { readClientCertificate } from "@mimi/credentials";
import {
  createSignedGet,
  doubleKnock,
  processSchemeMemory,
  type SchemeMemory,
  signedGetFailureDetail,
  signRequest,
} from "@mimi/http-signatures";
import { frameKeyPackage, readKeyPackage } from "@mimi/mls";
import type { OutboundHttp } from "@mimi/outbound-http";
import type { Logger } from "@mimi/service-kit";
import { z } from "zod";
import { ciphersuiteId, ciphersuiteName } from "./domain/ciphersuites.js";
import {
  type ClaimCollection,
  type ClaimDocumentItem,
  type ClaimDocumentUnavailable,
  claimCollection,
  parseClaimCollection,
} from "./domain/claim-document.js";
import type { KeyPackageValidator } from "./domain/upload-check.js";

/**
 * Claiming a remote user's KeyPackages on behalf of a local client: WebFinger -> actor document ->
 * `mimi:keyPackageClaim`, then a claim POST signed as the requesting local user's actor (so the other
 * provider can apply per-requester policy). The answer is checked before it is relayed.
 */

export interface RemoteClaimDeps {
  http: OutboundHttp;
  actorKeys: ActorKeyStore;
  /** The instance actor signs the actor-document fetch (peers in "authorized fetch" mode). */
  instanceActor: string;
  /** Development host mapping: a mapped host is reached over plain http. */
  connectTo: ReadonlyMap<string, string>;
  validate: KeyPackageValidator;
  logger: Logger;
  now: () => Date;
  /** The signature scheme each origin reads (double-knocking); by default the process's memory. */
  schemes?: SchemeMemory;
}

export type RemoteClaimResult =
  | { ok: true; collection: ClaimCollection }
  | { ok: false; status: 404 | 502; detail: string }
  /** The user requires consent and the requester is not a contact (the peer recorded an invite). */
  | { ok: false; status: 403; reason: "consentRequired"; detail: string };

/**
 * The base URL of another provider: https, except for hosts named by the development `connectTo`
 * mapping, which are reached over plain http (the same rule as @mimi/outbound-http's mapping).
 */
export function providerBaseUrl(host: string, connectTo: ReadonlyMap<string, string>): string {
  const hostname = host.replace(/:\d+$/, "");
  return `${connectTo.has(hostname) ? "http" : "https"}://${host}`;
}

const webfingerSchema = z.object({
  links: z
    .array(z.object({ rel: z.string(), type: z.string().optional(), href: z.string().optional() }))
    .max(50),
});

const actorSchema = z.object({
  id: z.string(),
  "mimi:keyPackageClaim": z.string(),
});

function isActivityType(type: string | undefined): boolean {
  return type === ACTIVITY_JSON || (type?.startsWith("application/ld+json") ?? false);
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function fail(status: 404 | 502, detail: string): RemoteClaimResult {
  return { ok: false, status, detail };
}

export async function claimRemoteKeyPackages(
  deps: RemoteClaimDeps,
  request: { acct: Acct; ciphersuites: ReadonlyArray<string | number>; requesterActor: string },
): Promise<RemoteClaimResult> {
  const resource = formatAcct(request.acct);
  const base = providerBaseUrl(request.acct.host, deps.connectTo);

  const webfinger = await deps.http.fetchJson(
    `${base}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`,
    { accept: `${JRD_JSON}, application/json` },
  );
  if (!webfinger.ok) {
    if (webfinger.status === 404) return fail(404, `${request.acct.host} has no user ${request.acct.user}`);
    return fail(502, `WebFinger lookup of ${resource} failed: ${webfinger.detail}`);
  }
  const links = webfingerSchema.safeParse(webfinger.value);
  const self = links.success
    ? links.data.links.find((link) => link.rel === "self" && isActivityType(link.type))
    : undefined;
  if (!self?.href) return fail(502, `the WebFinger answer for ${resource} has no ActivityPub actor`);

  const actor = await fetchActor(deps, self.href);
  if (!actor.ok) return actor;
  const claimUrl = actor.claimUrl;

  const requesterKey = await signingKeyOf(deps, request.requesterActor);
  const body = JSON.stringify({
    ciphersuites: request.ciphersuites.map((suite) => {
      const id = ciphersuiteId(suite);
      return id === undefined ? suite : ciphersuiteName(id);
    }),
    // Providers answer a signature once; two claims of one user within the same second (the Date's
    // resolution) would otherwise carry the same signature, and the second would be refused.
    "mimi:nonce": randomUUID(),
  });
  // RFC 9421 (Ed25519) first where the peer's documents list a Multikey; draft-cavage (RSA) when it
  // refuses that, remembered per origin like deliveries.
  const { result: answer } = await doubleKnock({
    url: claimUrl,
    key: requesterKey,
    memory: deps.schemes ?? processSchemeMemory(),
    send: (scheme) => {
      const request = {
        method: "POST",
        url: claimUrl,
        headers: { "content-type": ACTIVITY_JSON, accept: ACTIVITY_JSON },
        body,
      };
      const headers = signRequest(request, requesterKey, { now: deps.now(), scheme });
      return deps.http.request(claimUrl, { method: "POST", headers, body });
    },
    statusOf: (result) => (result.ok ? result.status : undefined),
  });
  if (!answer.ok) return fail(502, `the claim at ${claimUrl} failed: ${answer.detail}`);
  if (answer.status === 404) return fail(404, `${request.acct.host} has no user ${request.acct.user}`);
  if (answer.status === 403) {
    const refusal = consentRefusal(answer.body, request.acct);
    if (refusal) return refusal;
  }
  if (answer.status !== 200) return fail(502, `the claim at ${claimUrl} was answered ${answer.status}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(answer.body));
  } catch {
    return fail(502, "the claim answer is not JSON");
  }
  const parsed = parseClaimCollection(json);
  if (!parsed.ok) return fail(502, parsed.detail);

  const requestedIds = new Set(
    request.ciphersuites.map((suite) => ciphersuiteId(suite)).filter((id) => id !== undefined),
  );
  const items: ClaimDocumentItem[] = [];
  const unavailable: ClaimDocumentUnavailable[] = parsed.unavailable.map((entry) => ({
    clientId: entry.clientId,
    reason: entry.reason,
    detail: "reported by the user's provider",
  }));
  for (const index of parsed.malformed) {
    unavailable.push({
      clientId: `#${index}`,
      reason: "rejectedFromRemote",
      detail: "not a KeyPackage object",
    });
  }
  for (const item of parsed.items) {
    const checked = await checkRemoteItem(deps, item, request.acct, requestedIds);
    if (checked.ok) items.push(checked.item);
    else unavailable.push({ clientId: item.clientId, reason: "rejectedFromRemote", detail: checked.detail });
  }
  if (unavailable.some((entry) => entry.reason === "rejectedFromRemote")) {
    deps.logger.warn({ acct: resource, claimUrl }, "a remote claim answer held KeyPackages we refused");
  }
  return { ok: true, collection: claimCollection(actor.id, items, unavailable) };
}

async function fetchActor(
  deps: RemoteClaimDeps,
  actorUrl: string,
): Promise<{ ok: true; id: string; claimUrl: string } | { ok: false; status: 502; detail: string }> {
  const signedGet = createSignedGet(deps.http, () => signingKeyOf(deps, deps.instanceActor), {
    schemes: deps.schemes ?? processSchemeMemory(),
  });
  const result = await signedGet(actorUrl);
  if (result.kind === "failed" && result.reason === "notJson") {
    return { ok: false, status: 502, detail: `${actorUrl} is not JSON` };
  }
  if (result.kind === "failed" || result.kind === "blocked") {
    return {
      ok: false,
      status: 502,
      detail: `fetching ${actorUrl} failed: ${signedGetFailureDetail(result)}`,
    };
  }
  if (result.kind === "status" || result.status !== 200) {
    return { ok: false, status: 502, detail: `fetching ${actorUrl} was answered ${result.status}` };
  }
  const actor = actorSchema.safeParse(result.document);
  if (!actor.success) {
    return { ok: false, status: 502, detail: `${actorUrl} is not an actor with mimi:keyPackageClaim` };
  }
  // The claim endpoint must be the actor's own server: an actor document cannot send claims elsewhere.
  if (actor.data.id !== result.url || !sameOrigin(actor.data.id, actor.data["mimi:keyPackageClaim"])) {
    return { ok: false, status: 502, detail: `${actorUrl} names a claim endpoint outside its origin` };
  }
  return { ok: true, id: actor.data.id, claimUrl: actor.data["mimi:keyPackageClaim"] };
}

async function signingKeyOf(deps: RemoteClaimDeps, actorId: string) {
  await deps.actorKeys.ensure(actorId);
  const key = await deps.actorKeys.signingKey(actorId);
  if (!key) throw new Error(`the actor ${actorId} has no signing key`);
  return key;
}

/**
 * A relayed KeyPackage, framed as an MLSMessage or bare, must verify (signature, lifetime), be in a suite the client asked for, and
 * carry a credential that names the claimed account and the client it is listed for. The issuer
 * chain itself is checked by the client's MLS authentication service against the remote domain's
 * published issuers.
 */
async function checkRemoteItem(
  deps: RemoteClaimDeps,
  item: { clientId: string; content: Uint8Array; lastResort: boolean },
  acct: Acct,
  requestedIds: ReadonlySet<number>,
): Promise<{ ok: true; item: ClaimDocumentItem } | { ok: false; detail: string }> {
  // Peers may send the bare KeyPackage struct; clients always get it framed as an MLSMessage.
  const framed = frameKeyPackage(item.content);
  if (!framed.ok) return { ok: false, detail: `malformed: ${framed.detail}` };
  const info = readKeyPackage(framed.keyPackage);
  const suite = ciphersuiteId(info.cipherSuite);
  if (suite === undefined || !requestedIds.has(suite)) {
    return { ok: false, detail: `ciphersuite ${info.cipherSuite} was not requested` };
  }
  const validated = await deps.validate(framed.framed, deps.now());
  if (!validated.ok) return { ok: false, detail: `${validated.reason}: ${validated.detail}` };
  const credential = info.credential;
  const leaf = credential.credentialType === "x509" ? credential.certificates[0] : undefined;
  if (!leaf) return { ok: false, detail: "the credential is not an x509 chain" };
  const names = readClientCertificate(leaf);
  if (!names.ok) return { ok: false, detail: `credential: ${names.detail}` };
  if (names.contents.user !== acct.user || names.contents.domain !== acct.host) {
    return { ok: false, detail: `the credential names ${names.contents.acct}` };
  }
  if (names.contents.clientId !== item.clientId) {
    return { ok: false, detail: "the credential names another client" };
  }
  // A KeyPackage carrying the last_resort extension may be reused, whatever the answer marked.
  const lastResort = item.lastResort || info.lastResort;
  return {
    ok: true,
    item: { clientId: item.clientId, ciphersuite: suite, content: framed.framed, lastResort },
  };
}

/** A peer's 403 `consentRequired` problem, relayed as such (its detail is not relayed: our own words). */
function consentRefusal(body: Uint8Array, acct: Acct): RemoteClaimResult | undefined {
  try {
    const problem = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)) as {
      reason?: unknown;
    };
    if (problem.reason !== "consentRequired") return undefined;
  } catch {
    return undefined;
  }
  return {
    ok: false,
    status: 403,
    reason: "consentRequired",
    detail: `${acct.user}@${acct.host} accepts adds only from contacts; they have been asked, and the add can be made once they accept`,
  };
}
