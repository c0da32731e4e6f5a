import { spawnSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createRequestSigner, defaultSigningThreads, signRequest } from "../src/index.js";
import { createSigningThreadPool, placeJob } from "../src/signing-threads.js";
import { mastodonPrivateKey, mastodonVectors } from "./mastodon-vectors.js";

const vectors = mastodonVectors;
const mastodonKey = {
  keyId: vectors.keyId,
  privateKey: mastodonPrivateKey,
};
const otherRsaKey = {
  keyId: "https://c.example/users/dave#main-key",
  privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
};
const signedAt = new Date(vectors.date);

function post(i: number) {
  return {
    method: "POST",
    url: `https://b.example/users/u${i}/inbox`,
    headers: { "Content-Type": vectors.post.contentType },
    body: `${vectors.post.body}${i}`,
  };
}

/** The base64 signature inside a draft-cavage `signature` header. */
function signatureOf(header: string | undefined): Buffer {
  const match = /signature="([^"]+)"$/.exec(header ?? "");
  return Buffer.from(match?.[1] ?? "", "base64");
}

describe("createRequestSigner on signing threads", () => {
  it("signs RSA requests with exactly signRequest's headers, and they verify", async () => {
    const signer = createRequestSigner({ threads: 1 });
    try {
      const request = {
        method: "POST",
        url: vectors.post.url,
        headers: { "Content-Type": vectors.post.contentType },
        body: vectors.post.body,
      };
      const headers = await signer.sign(request, mastodonKey, { now: signedAt });
      // RSASSA-PKCS1-v1_5 is deterministic: the thread's signature is byte for byte Mastodon's.
      expect(headers).toEqual(signRequest(request, mastodonKey, { now: signedAt }));
      expect(signatureOf(headers.signature).toString("base64")).toBe(vectors.post.signature);
      expect(
        verify(
          "sha256",
          Buffer.from(vectors.post.signingString),
          createPublicKey(mastodonKey.privateKey),
          signatureOf(headers.signature),
        ),
      ).toBe(true);
    } finally {
      await signer.close();
    }
  });

  it("signs many concurrent requests with two RSA keys and an Ed25519 key, each correctly", async () => {
    const signer = createRequestSigner({ threads: 2 });
    const ed25519Key = {
      keyId: "https://ed.example/users/carol#main-key",
      privateKey: generateKeyPairSync("ed25519").privateKey,
    };
    try {
      const keys = [mastodonKey, otherRsaKey, ed25519Key];
      const jobs = Array.from({ length: 240 }, (_, i) => ({
        request: post(i),
        key: keys[i % keys.length] ?? mastodonKey,
      }));
      const signed = await Promise.all(
        jobs.map(({ request, key }) => signer.sign(request, key, { now: signedAt })),
      );
      expect(signed).toEqual(jobs.map(({ request, key }) => signRequest(request, key, { now: signedAt })));
    } finally {
      await signer.close();
    }
  });

  it("rejects signatures once closed", async () => {
    const signer = createRequestSigner({ threads: 1 });
    await signer.sign(post(1), mastodonKey);
    await signer.close();
    await expect(signer.sign(post(2), mastodonKey)).rejects.toThrow(/closed/);
  });

  it("uses at least one thread by default", () => {
    expect(defaultSigningThreads()).toBeGreaterThanOrEqual(1);
  });

  it("does not keep the process alive once it has signed", () => {
    const signModule = fileURLToPath(new URL("../src/sign.ts", import.meta.url));
    const script = `
      const { createRequestSigner } = await import(${JSON.stringify(signModule)});
      const { generateKeyPairSync } = await import("node:crypto");
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const signer = createRequestSigner();
      const headers = await signer.sign(
        { method: "POST", url: "https://b.example/inbox", headers: {}, body: "{}" },
        { keyId: "https://a.example/actor#main-key", privateKey },
      );
      console.log(headers.signature.startsWith('keyId="https://a.example/actor#main-key"') ? "signed" : "unsigned");
    `;
    // Without a timeout kill the child would hang here if the idle signing thread kept it alive.
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(child.stderr).toBe("");
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe("signed");
  }, 40_000);
});

describe("createSigningThreadPool", () => {
  const signingString = "(request-target): post /inbox\nhost: b.example";
  const expected = sign("sha256", Buffer.from(signingString), mastodonKey.privateKey).toString("base64");

  it("rejects the signatures of a thread that dies, and the next signature starts a new thread", async () => {
    const pool = createSigningThreadPool({ threads: 1 });
    try {
      expect(await pool.sign(mastodonKey.privateKey, "sha256", signingString)).toBe(expected);
      const pending = Array.from({ length: 200 }, () =>
        pool.sign(mastodonKey.privateKey, "sha256", signingString).then(
          (signature) => ({ signature }),
          (error: Error) => ({ error: error.message }),
        ),
      );
      // Let the batch reach the thread, then stop the thread long before 200 RSA signatures are done.
      await new Promise((resolve) => setImmediate(resolve));
      await pool.terminateThreads();
      const outcomes = await Promise.all(pending);
      const failures = outcomes.filter((outcome) => "error" in outcome);
      expect(failures.length).toBeGreaterThan(0);
      for (const outcome of outcomes) {
        if ("error" in outcome) expect(outcome.error).toMatch(/signing thread stopped \(exit code \d+\)/);
        else expect(outcome.signature).toBe(expected);
      }
      // The key is sent again to the new thread.
      expect(await pool.sign(mastodonKey.privateKey, "sha256", signingString)).toBe(expected);
    } finally {
      await pool.close();
    }
  });

  it("rejects a signature the thread cannot make and keeps signing the others", async () => {
    const pool = createSigningThreadPool({ threads: 1 });
    try {
      const [bad, good] = await Promise.allSettled([
        pool.sign(mastodonKey.privateKey, "no-such-digest", signingString),
        pool.sign(mastodonKey.privateKey, "sha256", signingString),
      ]);
      expect(bad.status).toBe("rejected");
      expect(bad.status === "rejected" && String(bad.reason)).toMatch(/signing failed/);
      expect(good).toEqual({ status: "fulfilled", value: expected });
    } finally {
      await pool.close();
    }
  });

  it("rejects what is pending when closed", async () => {
    const pool = createSigningThreadPool({ threads: 1, maxQueuedPerThread: 2 });
    const pending = Array.from({ length: 20 }, () =>
      pool.sign(mastodonKey.privateKey, "sha256", signingString).then(
        () => "signed",
        (error: Error) => error.message,
      ),
    );
    await pool.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes).toContain("the request signer is closed");
    for (const outcome of outcomes) expect(["signed", "the request signer is closed"]).toContain(outcome);
  });
});

describe("placeJob", () => {
  it("starts a thread while every running thread has work and more are allowed", () => {
    expect(placeJob([], 2, 64)).toBe("start");
    expect(placeJob([3], 2, 64)).toBe("start");
    expect(placeJob([3, 1], 2, 64)).toBe(1);
  });

  it("uses an idle thread before starting another", () => {
    expect(placeJob([2, 0], 3, 64)).toBe(1);
  });

  it("picks the least loaded thread, and none when all are full", () => {
    expect(placeJob([5, 2, 9], 3, 64)).toBe(1);
    expect(placeJob([64, 64], 2, 64)).toBeUndefined();
    expect(placeJob([64, 63], 2, 64)).toBe(1);
  });
});
