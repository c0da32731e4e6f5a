/**
 * Benchmarks: application message throughput and add-one commit latency, with the
 * caching provider and with ts-mls's default provider. Run with `npm run bench`
 * (`BENCH_SIZES=10,100` to choose group sizes, `BENCH_MESSAGES=2000` for message count,
 * `BENCH_WARMUP_MESSAGES=1000` sent and received untimed first).
 */
import type { CiphersuiteImpl, ClientState } from "ts-mls";
import {
  acceptAnyCredential,
  commit,
  createGroup,
  createGroupInfo,
  encryptApplicationMessage,
  joinFromWelcome,
  processIncoming,
} from "../src/client.js";
import { loadCiphersuite } from "../src/crypto.js";
import { applyCommit, publicGroupFromGroupInfo } from "../src/public-group.js";
import { makeTestClient } from "../src/test-support.js";

type ProviderName = "caching" | "default";
const providers: ProviderName[] = ["caching", "default"];
const messageCount = Number(process.env.BENCH_MESSAGES ?? 2000);
// Steady-state throughput: the first messages of a process also pay for JIT compilation of the MLS
// code paths (about half the rate of later ones here), so as many are sent untimed first.
const warmupCount = Number(process.env.BENCH_WARMUP_MESSAGES ?? 1000);
const groupSizes = (process.env.BENCH_SIZES ?? "10,100,1000").split(",").map(Number);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function pairGroup(cs: CiphersuiteImpl): Promise<[ClientState, ClientState]> {
  const a = await makeTestClient("alice", cs);
  const b = await makeTestClient("bob", cs);
  const created = await createGroup({
    groupId: new TextEncoder().encode("bench"),
    keyPackage: a.keyPackage,
    privateKeyPackage: a.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  const added = await commit(created, cs, { add: [b.keyPackage] });
  if (added.welcome === undefined) throw new Error("no welcome");
  const joined = await joinFromWelcome({
    welcome: added.welcome,
    keyPackage: b.keyPackage,
    privateKeyPackage: b.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  if (!joined.ok) throw new Error(joined.detail);
  return [added.newState, joined.state];
}

async function messageThroughput(provider: ProviderName) {
  const cs = await loadCiphersuite(undefined, provider);
  let [sender, receiver] = await pairGroup(cs);
  const payload = new TextEncoder().encode("x".repeat(200));
  for (let i = 0; i < warmupCount; i++) {
    const sent = await encryptApplicationMessage(sender, cs, payload);
    sender = sent.newState;
    const received = await processIncoming(receiver, cs, sent.message);
    if (!received.ok) throw new Error(received.detail);
    receiver = received.newState;
  }
  const messages: Uint8Array[] = [];
  let start = performance.now();
  for (let i = 0; i < messageCount; i++) {
    const sent = await encryptApplicationMessage(sender, cs, payload);
    sender = sent.newState;
    messages.push(sent.message);
  }
  const encryptSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  for (const message of messages) {
    const received = await processIncoming(receiver, cs, message);
    if (!received.ok) throw new Error(received.detail);
    receiver = received.newState;
  }
  const decryptSeconds = (performance.now() - start) / 1000;
  return { encryptPerSecond: messageCount / encryptSeconds, decryptPerSecond: messageCount / decryptSeconds };
}

async function commitLatency(provider: ProviderName, size: number) {
  const cs = await loadCiphersuite(undefined, provider);
  const creator = await makeTestClient("m0", cs);
  let state = await createGroup({
    groupId: new TextEncoder().encode(`bench-${size}`),
    keyPackage: creator.keyPackage,
    privateKeyPackage: creator.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  const others = [];
  for (let i = 1; i < size; i++) others.push((await makeTestClient(`m${i}`, cs)).keyPackage);
  state = (await commit(state, cs, { add: others })).newState;
  // A self-update fills the creator's path so later commits see a realistic tree.
  state = (await commit(state, cs)).newState;
  // The channel server's view of the same epoch.
  const observer = await publicGroupFromGroupInfo(await createGroupInfo(state, cs), {
    validateCredential: acceptAnyCredential,
  });
  if (!observer.ok) throw new Error(observer.detail);

  const addTimes: number[] = [];
  const verifyTimes: number[] = [];
  const updateTimes: number[] = [];
  for (let round = 0; round < 5; round++) {
    const joiner = await makeTestClient(`joiner${round}`, cs);
    let start = performance.now();
    const added = await commit(state, cs, { add: [joiner.keyPackage] });
    addTimes.push(performance.now() - start);
    start = performance.now();
    const verdict = await applyCommit(observer.state, added.commit, {
      validateCredential: acceptAnyCredential,
    });
    verifyTimes.push(performance.now() - start);
    if (!verdict.ok) throw new Error(verdict.detail);
    start = performance.now();
    await commit(state, cs);
    updateTimes.push(performance.now() - start);
  }
  return { addMs: median(addTimes), verifyMs: median(verifyTimes), updateMs: median(updateTimes) };
}

const format = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

console.log(`Application messages (${messageCount} messages of 200 bytes, 2-member group)`);
const throughput = [];
for (const provider of providers) {
  const r = await messageThroughput(provider);
  throughput.push({
    provider,
    "encrypt/s": format(r.encryptPerSecond),
    "decrypt/s": format(r.decryptPerSecond),
  });
}
console.table(throughput);

console.log(
  "Commits (median of 5, milliseconds): add one client; server verification of that commit; self-update",
);
const commits = [];
for (const size of groupSizes) {
  for (const provider of providers) {
    const start = performance.now();
    const r = await commitLatency(provider, size);
    commits.push({
      members: size,
      provider,
      "add-one commit": format(r.addMs),
      "server applyCommit": format(r.verifyMs),
      "self-update commit": format(r.updateMs),
      "setup s": ((performance.now() - start) / 1000).toFixed(1),
    });
  }
}
console.table(commits);
