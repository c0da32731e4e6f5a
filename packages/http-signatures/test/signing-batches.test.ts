import { generateKeyPairSync } from "node:crypto";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRequestSigner, signRequest } from "../src/index.js";

const ed = generateKeyPairSync("ed25519");
const edKey = {
  keyId: "https://a.example/users/alice#main-key",
  privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
  ed25519: { keyId: "https://a.example/users/alice#ed25519-key", privateKey: ed.privateKey },
};
const at = new Date("2026-01-02T03:04:05Z");

function delivery(i: number) {
  return {
    method: "POST",
    url: `https://b.example/users/u${i}/inbox`,
    headers: { "content-type": "application/activity+json" },
    body: `{"id":"https://a.example/activities/${i}"}`,
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Ed25519 signatures on the signing threads", () => {
  it("are signRequest's headers, and those of one event-loop turn go to a thread in one message", async () => {
    const posted = vi.spyOn(Worker.prototype, "postMessage");
    const signer = createRequestSigner({ threads: 1 });
    try {
      // Asked for from separate continuations (as deliveries are), not in one synchronous loop.
      const pending: Array<Promise<Record<string, string>>> = [];
      for (let i = 0; i < 40; i++) {
        await Promise.resolve();
        pending.push(signer.sign(delivery(i), edKey, { now: at, scheme: "rfc9421" }));
      }
      const signed = await Promise.all(pending);
      expect(posted).toHaveBeenCalledTimes(1);
      // Ed25519 signatures are deterministic: the same headers as signing inline.
      for (const [i, headers] of signed.entries()) {
        expect(headers).toEqual(signRequest(delivery(i), edKey, { now: at, scheme: "rfc9421" }));
      }
    } finally {
      await signer.close();
    }
  });

  it("an RSA signature is posted before the turn ends when the thread has little work", async () => {
    const posted = vi.spyOn(Worker.prototype, "postMessage");
    const signer = createRequestSigner({ threads: 1 });
    try {
      const pending = signer.sign(delivery(1), edKey, { now: at, scheme: "cavage" });
      await Promise.resolve();
      await Promise.resolve();
      expect(posted).toHaveBeenCalledTimes(1);
      expect(await pending).toEqual(signRequest(delivery(1), edKey, { now: at, scheme: "cavage" }));
    } finally {
      await signer.close();
    }
  });
});
