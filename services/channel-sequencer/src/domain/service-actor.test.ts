import { providerUrls } from "@mimi/activitypub";
import { ASSERTION_METHOD_CONTEXTS } from "@mimi/actor-keys";
import { describe, expect, it } from "vitest";
import { serviceActorDocument } from "./documents.js";

describe("the channel's Service actor", () => {
  it("publishes its RSA publicKey and its Ed25519 key as a FEP-521a Multikey", () => {
    const urls = providerUrls("a.test", "https://a.test");
    const channel = {
      id: "C1",
      name: "c",
      attributedTo: "https://a.test/users/alice",
      ciphersuite: "x",
      epoch: 0,
    };
    const document = serviceActorDocument(urls, channel, {
      publicKeyPem: "-----BEGIN PUBLIC KEY-----",
      ed25519PublicKeyMultibase: "z6MkTest",
    });
    const id = urls.channel("C1");
    expect(document.publicKey).toEqual({
      id: `${id}#main-key`,
      owner: id,
      publicKeyPem: "-----BEGIN PUBLIC KEY-----",
    });
    expect(document.assertionMethod).toEqual([
      { id: `${id}#ed25519-key`, type: "Multikey", controller: id, publicKeyMultibase: "z6MkTest" },
    ]);
    expect(document["@context"]).toEqual(expect.arrayContaining([...ASSERTION_METHOD_CONTEXTS]));
  });
});
