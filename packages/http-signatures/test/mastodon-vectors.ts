import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";

/** Requests signed by Mastodon's own code (fixtures/make-mastodon-vectors.sh) and the key it used. */
const fixtures = new URL("./fixtures/", import.meta.url);

export const mastodonVectors = JSON.parse(
  readFileSync(new URL("mastodon-vectors.json", fixtures), "utf8"),
) as {
  keyId: string;
  owner: string;
  date: string;
  post: {
    url: string;
    path: string;
    body: string;
    contentType: string;
    digest: string;
    signingString: string;
    signature: string;
  };
  get: { url: string; path: string; accept: string; signingString: string; signature: string };
  getWithQueryUnsigned: { url: string; path: string; accept: string; signature: string };
};

export const mastodonPrivateKey = createPrivateKey(readFileSync(new URL("mastodon-test-key.pem", fixtures)));
export const mastodonPublicPem = readFileSync(new URL("mastodon-test-key.pub.pem", fixtures), "utf8");
export const mastodonPublicKey = createPublicKey(mastodonPublicPem);
