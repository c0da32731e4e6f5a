import { readClientCertificate } from "@mimi/credentials";
import {
  type ClientState,
  type Credential,
  ownLeafIndex,
  roster,
  type SelfUpdateOptions,
  sameCredential,
  x509Credential,
} from "@mimi/mls";
import type { ChannelRecord, DeviceRecord } from "../account-store.js";
import type { AccountContext } from "../context.js";
import { fromBase64 } from "../mls-wire.js";

/**
 * A renewed credential in the groups this device is already in. Renewal (device/credential-renewal.ts)
 * gives the device a new certificate for the same signature key; every key update of our leaf then
 * carries it, and a channel whose leaf still holds another credential gets a key update on the next
 * sync (conversation/key-updates.ts), so no leaf keeps a credential that will expire.
 *
 * Who may change a leaf's credential: only the leaf's own client, renewing it. A commit whose
 * UpdatePath gives the committer's leaf a credential naming another acct or another client is
 * refused here as the channel's server refuses it (docs/trust-model.md), so a hostile member cannot
 * take on another user's identity in the group, and messages stay attributed to the leaf's identity.
 */

/** Whom a credential names: its leaf certificate's `acct:` and `mimi-client:`, undefined if unreadable. */
function namesOf(credential: Credential): { acct: string; clientId: string } | undefined {
  if (credential.credentialType !== "x509") return undefined;
  const leaf = credential.certificates[0];
  if (leaf === undefined) return undefined;
  const read = readClientCertificate(leaf);
  return read.ok ? { acct: read.contents.acct, clientId: read.contents.clientId } : undefined;
}

/**
 * Whether a member's leaf may go from `previous` to `next`: both name the same acct and the same
 * client. Whether `next` is valid is the credential validator's check, as for any leaf.
 */
export async function allowCredentialChange(previous: Credential, next: Credential): Promise<boolean> {
  const [before, after] = [namesOf(previous), namesOf(next)];
  return (
    before !== undefined &&
    after !== undefined &&
    before.acct === after.acct &&
    before.clientId === after.clientId
  );
}

/** This device's current credential (renewed ones replace the chain in its record). */
export function deviceCredential(device: Pick<DeviceRecord, "credentialChain">): Credential {
  return x509Credential(device.credentialChain.map(fromBase64));
}

/** Whether our own leaf in `state` carries another credential than `current` (the device's). Pure. */
export function ownLeafOutdated(state: ClientState, current: Credential): boolean {
  const own = roster(state).find((member) => member.leafIndex === ownLeafIndex(state));
  return own !== undefined && !sameCredential(own.credential, current);
}

/**
 * After the channel refused a key update of ours for good, the renewal's is tried again this much
 * later rather than on every sync (and every message `listen` receives).
 */
export const RENEWAL_UPDATE_RETRY_MS = 60 * 60 * 1000;

/**
 * Whether a key update carrying the device's credential `current` is due in this channel: our leaf in
 * `state` holds another one, and the channel has not refused a key update of ours in the last
 * `RENEWAL_UPDATE_RETRY_MS`. Pure.
 */
export function renewalUpdateDue(
  record: Pick<ChannelRecord, "keyUpdate">,
  state: ClientState,
  current: Credential,
  now: Date,
): boolean {
  if (!ownLeafOutdated(state, current)) return false;
  if (record.keyUpdate?.refused === undefined) return true;
  return now.getTime() - Date.parse(record.keyUpdate.at) >= RENEWAL_UPDATE_RETRY_MS;
}

/**
 * What a key update of our leaf in `state` carries: the device's current credential when the leaf
 * holds another one (after a renewal), nothing else otherwise.
 */
export async function ownLeafUpdate(ctx: AccountContext, state: ClientState): Promise<SelfUpdateOptions> {
  const device = await ctx.store.loadDevice();
  if (!device) return {};
  const credential = deviceCredential(device);
  return ownLeafOutdated(state, credential) ? { credential } : {};
}
