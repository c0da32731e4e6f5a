import {
  ACTIVITY_CONTEXT,
  ACTIVITY_JSON,
  type Acct,
  DEFAULT_CIPHERSUITE_NAME,
  formatAcct,
  type ProviderUrls,
} from "@mimi/activitypub";
import { type ActorPublicKeys, ASSERTION_METHOD_CONTEXTS, assertionMethodEntry } from "@mimi/actor-keys";

/** Pure builders of the documents identity serves (docs/protocol.md, "Discovery and identity"). */

/** An actor's `@context`: the provider's, plus what FEP-521a's `assertionMethod` Multikey needs. */
const ACTOR_CONTEXT = [...ACTIVITY_CONTEXT, ...ASSERTION_METHOD_CONTEXTS];

/** `publicKey` (RSA, draft-cavage, what Mastodon reads) and `assertionMethod` (Ed25519, RFC 9421). */
function actorKeys(urls: ProviderUrls, id: string, keys: ActorPublicKeys) {
  return {
    publicKey: { id: urls.keyId(id), owner: id, publicKeyPem: keys.publicKeyPem },
    assertionMethod: [assertionMethodEntry(id, keys.ed25519PublicKeyMultibase)],
  };
}

export function personDocument(urls: ProviderUrls, username: string, keys: ActorPublicKeys, createdAt: Date) {
  const id = urls.actor(username);
  return {
    "@context": ACTOR_CONTEXT,
    id,
    type: "Person",
    preferredUsername: username,
    name: username,
    url: urls.profilePage(username),
    published: createdAt.toISOString(),
    inbox: urls.inbox(username),
    outbox: urls.outbox(username),
    followers: urls.followers(username),
    following: urls.following(username),
    endpoints: { sharedInbox: urls.sharedInbox },
    ...actorKeys(urls, id, keys),
    keyPackages: urls.keyPackages(username),
    "mimi:keyPackageClaim": urls.keyPackageClaim(username),
  };
}

/** The instance actor signs the provider's own fetches (keys, actors) when peers require signed GETs. */
export function instanceActorDocument(urls: ProviderUrls, keys: ActorPublicKeys) {
  const id = urls.instanceActor;
  return {
    "@context": ACTOR_CONTEXT,
    id,
    type: "Application",
    preferredUsername: urls.domain,
    name: `${urls.domain} provider`,
    inbox: `${id}/inbox`,
    outbox: `${id}/outbox`,
    endpoints: { sharedInbox: urls.sharedInbox },
    ...actorKeys(urls, id, keys),
  };
}

export function webfingerDocument(urls: ProviderUrls, acct: Acct) {
  return {
    subject: formatAcct(acct),
    aliases: [urls.actor(acct.user), urls.profilePage(acct.user)],
    links: [
      { rel: "self", type: ACTIVITY_JSON, href: urls.actor(acct.user) },
      { rel: "http://webfinger.net/rel/profile-page", type: "text/html", href: urls.profilePage(acct.user) },
    ],
  };
}

export function mimiConfigurationDocument(domain: string, issuersPem: string[]) {
  return {
    domain,
    ciphersuites: [DEFAULT_CIPHERSUITE_NAME],
    credential_issuers: issuersPem,
  };
}

export function nodeInfoDiscovery(base: string) {
  return {
    links: [{ rel: "http://nodeinfo.diaspora.software/ns/schema/2.1", href: `${base}/nodeinfo/2.1` }],
  };
}

export function nodeInfoDocument(version: string, users: number, openRegistrations: boolean) {
  return {
    version: "2.1",
    software: { name: "mimi-provider", version },
    protocols: ["activitypub"],
    services: { inbound: [], outbound: [] },
    openRegistrations,
    usage: { users: { total: users } },
    metadata: { mimi: { ciphersuites: [DEFAULT_CIPHERSUITE_NAME] } },
  };
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function profilePage(urls: ProviderUrls, username: string): string {
  const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
  const handle = escapeHtml(`@${username}@${urls.domain}`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${handle}</title>
<link rel="alternate" type="application/activity+json" href="${escapeHtml(urls.actor(username))}"></head>
<body><h1>${handle}</h1><p>An end-to-end encrypted messaging account. Reach it from any MIMI provider as ${handle}.</p></body></html>`;
}
