import {
  acceptAnyCredential,
  applyCommit,
  applyExternalCommit,
  basicCredential,
  type CiphersuiteImpl,
  type ClientState,
  commit,
  createGroup,
  createGroupInfo,
  createKeyPackage,
  decodeClientState,
  encodeClientState,
  generateSignatureKeyPair,
  joinByExternalCommit,
  joinFromWelcome,
  loadCiphersuite,
  processIncoming,
  publicGroupFromGroupInfo,
} from "@mimi/mls";
import { type Metric, median, type Scenario } from "../src/index.js";

/**
 * What a user's new device joining a channel (an external commit, `Add{mimi:Device}`) and a member's
 * key update (`Update{mimi:KeyUpdate}`) cost at 10, 100 and 1,000 members: building the commit on the
 * client, verifying it on the channel's server (the public verifier) and applying it on another
 * member's client. Median of `BENCH_DEVICE_ROUNDS` rounds on the same epoch (each round a fresh
 * device or a fresh update); basic credentials, so credential checks (issuer fetches) are left out.
 */
export const devicesScenario: Scenario = {
  name: "devices",
  async run() {
    const sizes = (process.env.BENCH_DEVICE_SIZES ?? "10,100,1000").split(",").map(Number);
    const rounds = Number(process.env.BENCH_DEVICE_ROUNDS ?? 5);
    const cs = await loadCiphersuite();
    const metrics: Metric[] = [];
    const details: Record<string, unknown> = {};
    for (const size of sizes) {
      const measured = await measure(cs, size, rounds);
      details[String(size)] = measured;
      const row = (name: string, value: number): Metric => ({
        scenario: "8 devices",
        name: `${name}, ${size} members`,
        value,
        unit: "ms",
      });
      metrics.push(
        row("device join: external commit built by the new device", measured.joinBuildMs),
        row("device join: verified by the channel's server", measured.joinVerifyMs),
        row("device join: applied by a member", measured.joinApplyMs),
        row("key update: commit built by the member", measured.updateBuildMs),
        row("key update: verified by the channel's server", measured.updateVerifyMs),
        row("key update: applied by another member", measured.updateApplyMs),
      );
    }
    return {
      metrics,
      notes: [
        `BENCH_DEVICE_SIZES=${sizes.join(",")}, median of BENCH_DEVICE_ROUNDS=${rounds} rounds each; caching crypto provider, basic credentials (no issuer checks)`,
      ],
      details,
    };
  },
};

async function keyPackage(cs: CiphersuiteImpl, name: string) {
  return createKeyPackage({
    credential: basicCredential(name),
    signatureKeyPair: await generateSignatureKeyPair(cs),
    cipherSuite: cs,
  });
}

/** A group of `size` members: the creator's state, one other member's state and the server's view. */
async function groupOf(cs: CiphersuiteImpl, size: number) {
  const creator = await keyPackage(cs, "m0");
  const member = await keyPackage(cs, "m1");
  let state = await createGroup({
    groupId: new TextEncoder().encode(`devices-${size}`),
    keyPackage: creator.keyPackage,
    privateKeyPackage: creator.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  const others = [member.keyPackage];
  for (let i = 2; i < size; i++) others.push((await keyPackage(cs, `m${i}`)).keyPackage);
  const added = await commit(state, cs, { add: others });
  if (!added.welcome) throw new Error("no Welcome");
  const joined = await joinFromWelcome({
    welcome: added.welcome,
    keyPackage: member.keyPackage,
    privateKeyPackage: member.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  if (!joined.ok) throw new Error(joined.detail);
  // A self-update fills the creator's path, so later commits meet a realistic tree.
  const update = await commit(added.newState, cs);
  state = update.newState;
  const applied = await processIncoming(joined.state, cs, update.commit);
  if (!applied.ok) throw new Error(applied.detail);
  const observer = await publicGroupFromGroupInfo(await createGroupInfo(state, cs), {
    validateCredential: acceptAnyCredential,
  });
  if (!observer.ok) throw new Error(observer.detail);
  return { creator: state, member: applied.newState as ClientState, observer: observer.state };
}

/** A copy of a state: processing a message overwrites the secrets it used up in the state it was given. */
function copyOf(state: ClientState): ClientState {
  const decoded = decodeClientState(encodeClientState(state), acceptAnyCredential);
  if (!decoded.ok) throw new Error(decoded.detail);
  return decoded.state;
}

async function timed<T>(times: number[], work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  times.push(performance.now() - start);
  return result;
}

async function measure(cs: CiphersuiteImpl, size: number, rounds: number) {
  const { creator, member, observer } = await groupOf(cs, size);
  const groupInfo = await createGroupInfo(creator, cs);
  const times = {
    joinBuild: [] as number[],
    joinVerify: [] as number[],
    joinApply: [] as number[],
    updateBuild: [] as number[],
    updateVerify: [] as number[],
    updateApply: [] as number[],
  };
  for (let round = 0; round < rounds; round++) {
    const device = await keyPackage(cs, "m1");
    const joined = await timed(times.joinBuild, () =>
      joinByExternalCommit({
        groupInfo,
        keyPackage: device.keyPackage,
        privateKeyPackage: device.privateKeyPackage,
        cipherSuite: cs,
        validateCredential: acceptAnyCredential,
      }),
    );
    if (!joined.ok) throw new Error(joined.detail);
    const verified = await timed(times.joinVerify, () =>
      applyExternalCommit(observer, joined.commit, { validateCredential: acceptAnyCredential }),
    );
    if (!verified.ok) throw new Error(`${verified.reason}: ${verified.detail}`);
    const receiver = copyOf(member);
    const applied = await timed(times.joinApply, () => processIncoming(receiver, cs, joined.commit));
    if (!applied.ok) throw new Error(applied.detail);

    const committer = copyOf(member);
    const update = await timed(times.updateBuild, () => commit(committer, cs));
    const checked = await timed(times.updateVerify, () =>
      applyCommit(observer, update.commit, { validateCredential: acceptAnyCredential }),
    );
    if (!checked.ok) throw new Error(`${checked.reason}: ${checked.detail}`);
    const other = copyOf(creator);
    const seen = await timed(times.updateApply, () => processIncoming(other, cs, update.commit));
    if (!seen.ok) throw new Error(seen.detail);
  }
  return {
    joinBuildMs: median(times.joinBuild),
    joinVerifyMs: median(times.joinVerify),
    joinApplyMs: median(times.joinApply),
    updateBuildMs: median(times.updateBuild),
    updateVerifyMs: median(times.updateVerify),
    updateApplyMs: median(times.updateApply),
  };
}
