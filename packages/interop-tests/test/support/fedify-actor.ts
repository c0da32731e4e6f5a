import { generateCryptoKeyPair } from "@fedify/fedify";
import { CryptographicKey, Endpoints, Person } from "@fedify/vocab";
import type { FakeHost } from "./fake-host.js";

type FedifyPrivateKey = Awaited<ReturnType<typeof generateCryptoKeyPair>>["privateKey"];

/** An actor built and serialised by Fedify, with the RSA key pair Fedify generated for it. */
export interface FedifyActor {
  id: URL;
  keyId: URL;
  inbox: URL;
  privateKey: FedifyPrivateKey;
  document: unknown;
}

/**
 * Creates `<origin>/users/<name>` with Fedify's own vocabulary (Person, CryptographicKey, Endpoints)
 * and serves Fedify's JSON-LD serialisation of it at its id on `host`: the document a Fedify server
 * would publish, and the one our provider must read the signer's key from. `extra` adds members Fedify's
 * vocabulary has no property for (such as `mimi:keyPackageClaim`).
 */
export async function serveFedifyActor(
  host: FakeHost,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<FedifyActor> {
  const { privateKey, publicKey } = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
  const id = new URL(`/users/${name}`, host.origin);
  const keyId = new URL(`${id.href}#main-key`);
  const inbox = new URL(`${id.href}/inbox`);
  const person = new Person({
    id,
    preferredUsername: name,
    inbox,
    followers: new URL(`${id.href}/followers`),
    endpoints: new Endpoints({ sharedInbox: new URL("/inbox", host.origin) }),
    publicKey: new CryptographicKey({ id: keyId, owner: id, publicKey }),
  });
  const serialised = await person.toJsonLd();
  const document =
    typeof serialised === "object" && serialised !== null ? { ...serialised, ...extra } : serialised;
  host.serveJson(id.pathname, document);
  return { id, keyId, inbox, privateKey, document };
}
