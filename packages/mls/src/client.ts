/**
 * Client-side MLS operations: a thin typed layer over ts-mls. Clients hold all group
 * secrets. Handshake messages (commits) always go out as PublicMessage so the channel's
 * server can verify them; application messages go out as PrivateMessage.
 *
 * Operations that consume untrusted input (Welcome, incoming messages, encoded states)
 * return a `ClientResult` instead of throwing.
 */
import {
  type AuthenticationService,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type Credential,
  createApplicationMessage,
  createCommit,
  createGroupInfoWithExternalPubAndRatchetTree,
  decodeGroupState,
  decodeMlsMessage,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  type defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  type Extension,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  joinGroup,
  joinGroupExternal,
  type KeyPackage,
  type LeafNode,
  type MLSMessage,
  type PrivateKeyPackage,
  type PrivateMessage,
  type Proposal,
  type ProposalOrRef,
  processMessage,
  createGroup as tsCreateGroup,
  zeroOutUint8Array,
} from "ts-mls";
import { decodeKeyPackage as decodeBareKeyPackage } from "ts-mls/keyPackage.js";
import { decryptSenderData } from "ts-mls/privateMessage.js";
import type { ValidateCredential } from "./credential-check.js";
import { applyCommit, type PublicGroupState, sameCredential } from "./public-group.js";

export type {
  CiphersuiteImpl,
  CiphersuiteName,
  ClientState,
  Credential,
  KeyPackage,
  LeafNode,
  PrivateKeyPackage,
} from "ts-mls";

// Both the client and the server-side verifier take one; it lives on its own so neither imports the other for it.
export { acceptAnyCredential, type ValidateCredential } from "./credential-check.js";

export interface SignatureKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export type ClientFailureReason = "malformed" | "wrongGroup" | "staleEpoch" | "futureEpoch" | "rejected";
export type ClientResult<T> = ({ ok: true } & T) | { ok: false; reason: ClientFailureReason; detail: string };

/** Extension type of `last_resort` (draft-ietf-mls-extensions; IANA MLS Extension Types 0x000A). */
export const LAST_RESORT_EXTENSION_TYPE = 0x000a;

const textEncoder = new TextEncoder();

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * How many message keys a member keeps for messages that have not arrived yet. Clients apply a
 * channel's entries in the channel's order (`mimi:sequence`), so keys are skipped only where the
 * channel itself logged one sender's messages out of their generation order: a sender's provider
 * may have up to N - 1 of its messages overtake one another on the way to the channel
 * (`MIMI_DELIVERY_SENDS_PER_DESTINATION`, N = 4 by default), and messages the channel rejected leave
 * their generations unused. Ten generations cover N up to 11; four epochs cover the channel's
 * window for messages of past epochs (one by default) with room to spare.
 */
export const KEY_RETENTION = {
  retainKeysForGenerations: 10,
  retainKeysForEpochs: 4,
  maximumForwardRatchetSteps: 200,
} as const satisfies typeof defaultKeyRetentionConfig;

function clientConfig(validateCredential: ValidateCredential): ClientConfig {
  const authService: AuthenticationService = { validateCredential };
  return {
    keyRetentionConfig: KEY_RETENTION,
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService,
  };
}

// ---------------------------------------------------------------------------
// Keys, credentials, KeyPackages
// ---------------------------------------------------------------------------

export async function generateSignatureKeyPair(cs: CiphersuiteImpl): Promise<SignatureKeyPair> {
  const pair = await cs.signature.keygen();
  return { publicKey: pair.publicKey, privateKey: pair.signKey };
}

export function basicCredential(identity: string | Uint8Array): Credential {
  return {
    credentialType: "basic",
    identity: typeof identity === "string" ? textEncoder.encode(identity) : identity,
  };
}

/** An X.509 credential from a DER chain, leaf certificate first. */
export function x509Credential(chainDer: Uint8Array[]): Credential {
  if (chainDer.length === 0) throw new Error("An X.509 credential needs at least one certificate");
  return { credentialType: "x509", certificates: chainDer };
}

export interface CreateKeyPackageOptions {
  credential: Credential;
  signatureKeyPair: SignatureKeyPair;
  cipherSuite: CiphersuiteImpl;
  /** Mark the KeyPackage as last resort (may be reused when a directory runs out). */
  lastResort?: boolean;
  /** Validity window in seconds from now (default 90 days). The lifetime starts one hour in the past to absorb clock skew. */
  validForSeconds?: number;
  /** Clock for the lifetime (seconds since epoch); defaults to now. */
  nowSeconds?: number;
}

export interface KeyPackageBundle {
  keyPackage: KeyPackage;
  /** Private HPKE keys and the signature key: keep on the client, needed to join from a Welcome. */
  privateKeyPackage: PrivateKeyPackage;
}

const DEFAULT_KEY_PACKAGE_VALIDITY_SECONDS = 90 * 24 * 3600;
const CLOCK_SKEW_SECONDS = 3600;

export async function createKeyPackage(options: CreateKeyPackageOptions): Promise<KeyPackageBundle> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const lifetime = {
    notBefore: BigInt(now - CLOCK_SKEW_SECONDS),
    notAfter: BigInt(now + (options.validForSeconds ?? DEFAULT_KEY_PACKAGE_VALIDITY_SECONDS)),
  };
  const capabilities = defaultCapabilities();
  const extensions: Extension[] = [];
  if (options.lastResort === true) {
    // Non-default extensions must be announced in the leaf's capabilities.
    capabilities.extensions = [...capabilities.extensions, LAST_RESORT_EXTENSION_TYPE];
    extensions.push({ extensionType: LAST_RESORT_EXTENSION_TYPE, extensionData: new Uint8Array() });
  }
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    options.credential,
    capabilities,
    lifetime,
    extensions,
    { signKey: options.signatureKeyPair.privateKey, publicKey: options.signatureKeyPair.publicKey },
    options.cipherSuite,
  );
  return { keyPackage: publicPackage, privateKeyPackage: privatePackage };
}

export interface KeyPackageInfo {
  credential: Credential;
  signaturePublicKey: Uint8Array;
  cipherSuite: string;
  notBefore: bigint;
  notAfter: bigint;
  lastResort: boolean;
}

export function readKeyPackage(keyPackage: KeyPackage): KeyPackageInfo {
  return {
    credential: keyPackage.leafNode.credential,
    signaturePublicKey: keyPackage.leafNode.signaturePublicKey,
    cipherSuite: keyPackage.cipherSuite,
    notBefore: keyPackage.leafNode.lifetime.notBefore,
    notAfter: keyPackage.leafNode.lifetime.notAfter,
    lastResort: keyPackage.extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION_TYPE),
  };
}

export interface LeafInfo {
  credential: Credential;
  signaturePublicKey: Uint8Array;
}

export function readLeafNode(leaf: LeafNode): LeafInfo {
  return { credential: leaf.credential, signaturePublicKey: leaf.signaturePublicKey };
}

export function encodeKeyPackage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage });
}

// ---------------------------------------------------------------------------
// MLSMessage framing and the ActivityPub wire object
// ---------------------------------------------------------------------------

export type MlsWireType = "PublicMessage" | "PrivateMessage" | "Welcome" | "GroupInfo" | "KeyPackage";

/** The SWICG object carrying an MLS message inside an activity (docs/protocol.md, "Channels"). */
export interface MlsWireObject {
  type: MlsWireType;
  mediaType: "message/mls";
  encoding: "base64";
  content: string;
}

const wireTypes: Record<MLSMessage["wireformat"], MlsWireType> = {
  mls_public_message: "PublicMessage",
  mls_private_message: "PrivateMessage",
  mls_welcome: "Welcome",
  mls_group_info: "GroupInfo",
  mls_key_package: "KeyPackage",
};

/** Decodes a complete MLSMessage; trailing bytes make it malformed. */
export function decodeMessage(bytes: Uint8Array): ClientResult<{ message: MLSMessage }> {
  try {
    const decoded = decodeMlsMessage(bytes, 0);
    if (decoded === undefined) return { ok: false, reason: "malformed", detail: "not an MLSMessage" };
    if (decoded[1] !== bytes.length)
      return { ok: false, reason: "malformed", detail: "trailing bytes after MLSMessage" };
    return { ok: true, message: decoded[0] };
  } catch (error) {
    return { ok: false, reason: "malformed", detail: describe(error) };
  }
}

export function encodeMessage(message: MLSMessage): Uint8Array {
  return encodeMlsMessage(message);
}

export function decodeKeyPackage(bytes: Uint8Array): ClientResult<{ keyPackage: KeyPackage }> {
  const decoded = decodeMessage(bytes);
  if (!decoded.ok) return decoded;
  if (decoded.message.wireformat !== "mls_key_package")
    return {
      ok: false,
      reason: "malformed",
      detail: `expected a KeyPackage, got ${decoded.message.wireformat}`,
    };
  return { ok: true, keyPackage: decoded.message.keyPackage };
}

/**
 * A KeyPackage as peers send it, either framed as an MLSMessage (RFC 9420 section 6) or as the bare
 * KeyPackage struct some implementations publish, returned in the one form this provider stores and
 * relays: the MLSMessage. Decoding only: the KeyPackage is still to be validated.
 */
export function frameKeyPackage(
  bytes: Uint8Array,
): ClientResult<{ framed: Uint8Array; keyPackage: KeyPackage; wasBare: boolean }> {
  const asMessage = decodeKeyPackage(bytes);
  if (asMessage.ok) return { ok: true, framed: bytes, keyPackage: asMessage.keyPackage, wasBare: false };
  try {
    const bare = decodeBareKeyPackage(bytes, 0);
    if (bare !== undefined && bare[1] === bytes.length) {
      return { ok: true, framed: encodeKeyPackage(bare[0]), keyPackage: bare[0], wasBare: true };
    }
  } catch {
    // Not a bare KeyPackage either: the MLSMessage reading's refusal says what was expected.
  }
  return { ok: false, reason: "malformed", detail: `${asMessage.detail}, nor a bare KeyPackage` };
}

/** Wraps an encoded MLSMessage into the wire object; the type comes from the message itself. */
export function toWireObject(messageBytes: Uint8Array): MlsWireObject {
  const decoded = decodeMessage(messageBytes);
  if (!decoded.ok) throw new Error(`Cannot wrap an invalid MLSMessage: ${decoded.detail}`);
  return {
    type: wireTypes[decoded.message.wireformat],
    mediaType: "message/mls",
    encoding: "base64",
    content: Buffer.from(messageBytes).toString("base64"),
  };
}

/** Unwraps a wire object; checks the media type, the encoding and that `type` matches the message. */
export function fromWireObject(
  value: unknown,
  expected?: MlsWireType,
): ClientResult<{ type: MlsWireType; bytes: Uint8Array }> {
  if (typeof value !== "object" || value === null)
    return { ok: false, reason: "malformed", detail: "not an object" };
  const object = value as Record<string, unknown>;
  if (object.mediaType !== "message/mls")
    return { ok: false, reason: "malformed", detail: "mediaType must be message/mls" };
  if (object.encoding !== "base64")
    return { ok: false, reason: "malformed", detail: "encoding must be base64" };
  if (typeof object.content !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(object.content))
    return { ok: false, reason: "malformed", detail: "content must be base64" };
  const bytes = new Uint8Array(Buffer.from(object.content, "base64"));
  const decoded = decodeMessage(bytes);
  if (!decoded.ok) return decoded;
  const actual = wireTypes[decoded.message.wireformat];
  if (object.type !== actual)
    return { ok: false, reason: "malformed", detail: `type ${String(object.type)} but content is ${actual}` };
  if (expected !== undefined && actual !== expected)
    return { ok: false, reason: "malformed", detail: `expected ${expected}, got ${actual}` };
  return { ok: true, type: actual, bytes };
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

export interface CreateGroupOptions {
  groupId: Uint8Array;
  keyPackage: KeyPackage;
  privateKeyPackage: PrivateKeyPackage;
  cipherSuite: CiphersuiteImpl;
  validateCredential: ValidateCredential;
  extensions?: Extension[];
}

export function createGroup(options: CreateGroupOptions): Promise<ClientState> {
  return tsCreateGroup(
    options.groupId,
    options.keyPackage,
    options.privateKeyPackage,
    options.extensions ?? [],
    options.cipherSuite,
    clientConfig(options.validateCredential),
  );
}

export interface CommitChanges {
  /** KeyPackages of the clients to add. */
  add?: KeyPackage[];
  /** Leaf indices of the members to remove. */
  remove?: number[];
  /** Data bound to the commit's signature (visible to the server). */
  authenticatedData?: Uint8Array;
}

export interface CommitOutput {
  /** The state after the commit. Adopt it only once the channel accepted the commit. */
  newState: ClientState;
  /** MLSMessage (PublicMessage) with the commit. */
  commit: Uint8Array;
  /** MLSMessage (Welcome) for the added clients, carrying the ratchet tree; absent without adds. */
  welcome?: Uint8Array;
  /** MLSMessage (GroupInfo) for the new epoch with the ratchet tree, for the channel's server. */
  groupInfo: Uint8Array;
  /**
   * Secrets of the old epoch that the new state no longer needs. Pass them to
   * `discardSecrets` once the commit was accepted; keep them while the old state may
   * still be used (a rejected commit leaves the client on the old state).
   */
  consumed: Uint8Array[];
}

/**
 * Commits adds and removes (in one commit) as a PublicMessage. With no changes this is
 * a self-update: a commit with only an UpdatePath, refreshing the committer's keys.
 */
export async function commit(
  state: ClientState,
  cs: CiphersuiteImpl,
  changes: CommitChanges = {},
): Promise<CommitOutput> {
  const proposals: Proposal[] = [
    ...(changes.remove ?? []).map((removed): Proposal => ({ proposalType: "remove", remove: { removed } })),
    ...(changes.add ?? []).map((keyPackage): Proposal => ({ proposalType: "add", add: { keyPackage } })),
  ];
  const result = await createCommit(
    { state, cipherSuite: cs },
    {
      wireAsPublicMessage: true,
      ratchetTreeExtension: true,
      extraProposals: proposals,
      ...(changes.authenticatedData === undefined ? {} : { authenticatedData: changes.authenticatedData }),
    },
  );
  const output: CommitOutput = {
    newState: result.newState,
    commit: encodeMlsMessage(result.commit),
    groupInfo: await createGroupInfo(result.newState, cs),
    consumed: result.consumed,
  };
  if (result.welcome !== undefined)
    output.welcome = encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_welcome",
      welcome: result.welcome,
    });
  return output;
}

export interface SelfUpdateOptions {
  /**
   * The credential the committer's new leaf carries instead of its current one: a renewed
   * certificate for the same identity. It binds the leaf's current signature key, or
   * `signatureKeyPair`'s when given.
   */
  credential?: Credential;
  /**
   * A new signature key pair for the new leaf, when the renewed credential certifies a new key. The
   * commit itself is still signed with the current key (members verify it against the leaf they
   * hold); the new leaf and everything this client signs afterwards use the new one.
   */
  signatureKeyPair?: SignatureKeyPair;
  /** Data bound to the commit's signature (visible to the server). */
  authenticatedData?: Uint8Array;
}

/**
 * A commit with only an UpdatePath, refreshing the committer's keys; with `credential` (and
 * `signatureKeyPair`), the new leaf also carries that credential (and key). Members and the channel's
 * server accept a changed credential or key only where their `allowCredentialChange` says so (see
 * `processIncoming` and `applyCommit`).
 */
export async function selfUpdate(
  state: ClientState,
  cs: CiphersuiteImpl,
  options: SelfUpdateOptions = {},
): Promise<CommitOutput> {
  const changes =
    options.authenticatedData === undefined ? {} : { authenticatedData: options.authenticatedData };
  const { credential, signatureKeyPair } = options;
  if (credential === undefined && signatureKeyPair === undefined) return commit(state, cs, changes);
  // ts-mls builds the UpdatePath's leaf from the committer's current leaf, so the commit is built on
  // a copy of the state whose own leaf already holds the new credential and key. Only the new leaf is
  // built from it: path secrets go to the other members' unchanged keys.
  const nodeIndex = state.privatePath.leafIndex * 2;
  const own = state.ratchetTree[nodeIndex];
  if (own?.nodeType !== "leaf") throw new Error("this client's own leaf is blank");
  const ratchetTree = state.ratchetTree.slice();
  ratchetTree[nodeIndex] = {
    nodeType: "leaf",
    leaf: {
      ...own.leaf,
      ...(credential === undefined ? {} : { credential }),
      ...(signatureKeyPair === undefined ? {} : { signaturePublicKey: signatureKeyPair.publicKey }),
    },
  };
  if (signatureKeyPair === undefined) return commit({ ...state, ratchetTree }, cs, changes);
  // ts-mls signs the new leaf and the commit with one key; the leaf must be signed with the new key
  // and the commit with the current one. Signatures are told apart by their RFC 9420 label.
  const result = await createCommit(
    { state: { ...state, ratchetTree }, cipherSuite: signingLeafNodesWith(cs, signatureKeyPair.privateKey) },
    { wireAsPublicMessage: true, ratchetTreeExtension: true, ...changes },
  );
  const newState: ClientState = { ...result.newState, signaturePrivateKey: signatureKeyPair.privateKey };
  return {
    newState,
    commit: encodeMlsMessage(result.commit),
    groupInfo: await createGroupInfo(newState, cs),
    consumed: result.consumed,
  };
}

/** SignContent (RFC 9420 section 5.1.2) of a LeafNodeTBS starts with its length-prefixed label. */
const LEAF_NODE_LABEL = (() => {
  const label = textEncoder.encode("MLS 1.0 LeafNodeTBS");
  return Uint8Array.of(label.length, ...label);
})();

/** `cs`, except that leaf nodes are signed with `leafKey` whatever key the caller passes. */
function signingLeafNodesWith(cs: CiphersuiteImpl, leafKey: Uint8Array): CiphersuiteImpl {
  const isLeafNode = (message: Uint8Array) =>
    message.length > LEAF_NODE_LABEL.length &&
    Buffer.from(message.subarray(0, LEAF_NODE_LABEL.length)).equals(Buffer.from(LEAF_NODE_LABEL));
  return {
    ...cs,
    signature: {
      ...cs.signature,
      sign: (key, message) => cs.signature.sign(isLeafNode(message) ? leafKey : key, message),
    },
  };
}

/** Overwrites secrets that are no longer needed (see `CommitOutput.consumed`). */
export function discardSecrets(secrets: Uint8Array[]): void {
  for (const secret of secrets) zeroOutUint8Array(secret);
}

/**
 * A signed GroupInfo for the state's current epoch with the ratchet tree (and the
 * external public key, so a client of an existing member can later join by external commit).
 */
export async function createGroupInfo(state: ClientState, cs: CiphersuiteImpl): Promise<Uint8Array> {
  const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(state, [], cs);
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_group_info", groupInfo });
}

export interface JoinOptions {
  welcome: Uint8Array;
  keyPackage: KeyPackage;
  privateKeyPackage: PrivateKeyPackage;
  cipherSuite: CiphersuiteImpl;
  validateCredential: ValidateCredential;
}

/** Joins from a Welcome that carries the ratchet tree (as `commit` produces). */
export async function joinFromWelcome(options: JoinOptions): Promise<ClientResult<{ state: ClientState }>> {
  const decoded = decodeMessage(options.welcome);
  if (!decoded.ok) return decoded;
  if (decoded.message.wireformat !== "mls_welcome")
    return {
      ok: false,
      reason: "malformed",
      detail: `expected a Welcome, got ${decoded.message.wireformat}`,
    };
  try {
    const state = await joinGroup(
      decoded.message.welcome,
      options.keyPackage,
      options.privateKeyPackage,
      emptyPskIndex,
      options.cipherSuite,
      undefined,
      undefined,
      clientConfig(options.validateCredential),
    );
    return { ok: true, state };
  } catch (error) {
    return { ok: false, reason: "rejected", detail: describe(error) };
  }
}

export interface ExternalJoinOptions {
  /** MLSMessage (GroupInfo) with the ratchet tree and the external public key, as `createGroupInfo` makes. */
  groupInfo: Uint8Array;
  keyPackage: KeyPackage;
  privateKeyPackage: PrivateKeyPackage;
  cipherSuite: CiphersuiteImpl;
  validateCredential: ValidateCredential;
  /** Also removes this client's own old leaf (same signature key), for a client that lost its state. */
  resync?: boolean;
}

export interface ExternalJoinOutput {
  /** The state after the commit. Adopt it only once the channel accepted the commit. */
  newState: ClientState;
  /** MLSMessage (PublicMessage) with the external commit. */
  commit: Uint8Array;
  /** MLSMessage (GroupInfo) for the new epoch with the ratchet tree, for the channel's server. */
  groupInfo: Uint8Array;
}

/**
 * Joins a group by external commit (RFC 9420 section 12.4.3.2) from its GroupInfo: the tree and
 * the signer's credential are verified first, then a commit adds this client with a fresh UpdatePath.
 */
export async function joinByExternalCommit(
  options: ExternalJoinOptions,
): Promise<ClientResult<ExternalJoinOutput>> {
  const decoded = decodeMessage(options.groupInfo);
  if (!decoded.ok) return decoded;
  if (decoded.message.wireformat !== "mls_group_info")
    return {
      ok: false,
      reason: "malformed",
      detail: `expected a GroupInfo, got ${decoded.message.wireformat}`,
    };
  try {
    const { publicMessage, newState } = await joinGroupExternal(
      decoded.message.groupInfo,
      options.keyPackage,
      options.privateKeyPackage,
      options.resync === true,
      options.cipherSuite,
      undefined,
      clientConfig(options.validateCredential),
    );
    return {
      ok: true,
      newState,
      commit: encodeMlsMessage({ version: "mls10", wireformat: "mls_public_message", publicMessage }),
      groupInfo: await createGroupInfo(newState, options.cipherSuite),
    };
  } catch (error) {
    return { ok: false, reason: "rejected", detail: describe(error) };
  }
}

/** The member that sent an application message, as the group's tree names it at the message's epoch. */
export interface MessageSender {
  leafIndex: number;
  credential: Credential;
}

export type ProcessedMessage =
  | {
      kind: "application";
      newState: ClientState;
      data: Uint8Array;
      authenticatedData: Uint8Array;
      /**
       * The sending member. Its signature over the content verified with this leaf's key, so the
       * identity in `credential` is who sent it, whatever the plaintext claims.
       */
      sender: MessageSender;
    }
  | { kind: "commit"; newState: ClientState; epoch: bigint; removedFromGroup: boolean }
  | { kind: "proposal"; newState: ClientState };

function checkGroupAndEpoch(state: ClientState, groupId: Uint8Array, epoch: bigint): ClientResult<object> {
  if (!Buffer.from(groupId).equals(Buffer.from(state.groupContext.groupId)))
    return { ok: false, reason: "wrongGroup", detail: "message is for another group" };
  if (epoch > state.groupContext.epoch)
    return {
      ok: false,
      reason: "futureEpoch",
      detail: `message epoch ${epoch} > ${state.groupContext.epoch}`,
    };
  return { ok: true };
}

/**
 * Processes an incoming MLSMessage: a PublicMessage commit (or proposal) or a
 * PrivateMessage. Application messages from the previous epochs kept by ts-mls's key
 * retention still decrypt. Secrets the processing used up are overwritten.
 */
export interface ProcessOptions {
  /**
   * Whether a committer's UpdatePath leaf may carry another credential (or signature key) than
   * its current leaf, e.g. a renewed certificate naming the same client. Default: never. The new
   * credential is validated like any leaf's in any case.
   */
  allowCredentialChange?: (previous: Credential, next: Credential) => Promise<boolean>;
}

export async function processIncoming(
  state: ClientState,
  cs: CiphersuiteImpl,
  messageBytes: Uint8Array,
  options: ProcessOptions = {},
): Promise<ClientResult<ProcessedMessage>> {
  const decoded = decodeMessage(messageBytes);
  if (!decoded.ok) return decoded;
  const message = decoded.message;
  let authenticatedData: Uint8Array;
  let sender: MessageSender | undefined;
  if (message.wireformat === "mls_public_message") {
    const content = message.publicMessage.content;
    const check = checkGroupAndEpoch(state, content.groupId, content.epoch);
    if (!check.ok) return check;
    if (content.contentType === "application")
      return { ok: false, reason: "malformed", detail: "application data must not be a PublicMessage" };
    if (content.epoch < state.groupContext.epoch)
      return { ok: false, reason: "staleEpoch", detail: `handshake for epoch ${content.epoch}` };
    if (
      content.contentType === "commit" &&
      removesLeaf(content.commit.proposals, state.privatePath.leafIndex)
    )
      return processOwnRemoval(state, messageBytes);
    if (content.contentType === "commit" && content.sender.senderType === "member") {
      const refused = await refusedCredentialChange(
        state,
        content.sender.leafIndex,
        content.commit.path?.leafNode,
        options,
      );
      if (refused !== undefined) return { ok: false, reason: "rejected", detail: refused };
    }
    authenticatedData = content.authenticatedData;
  } else if (message.wireformat === "mls_private_message") {
    const check = checkGroupAndEpoch(state, message.privateMessage.groupId, message.privateMessage.epoch);
    if (!check.ok) return check;
    authenticatedData = message.privateMessage.authenticatedData;
    sender = await privateMessageSender(state, cs, message.privateMessage);
    if (sender === undefined)
      return { ok: false, reason: "rejected", detail: "the sender data does not decrypt to a member" };
  } else {
    return { ok: false, reason: "malformed", detail: `cannot process a ${message.wireformat} in a group` };
  }
  try {
    const result = await processMessage(message, state, emptyPskIndex, () => "accept", cs);
    discardSecrets(result.consumed);
    if (result.kind === "applicationMessage") {
      if (sender === undefined)
        return { ok: false, reason: "malformed", detail: "application data without a known sender" };
      return {
        ok: true,
        kind: "application",
        newState: result.newState,
        data: result.message,
        authenticatedData,
        sender,
      };
    }
    const advanced = result.newState.groupContext.epoch !== state.groupContext.epoch;
    const removedFromGroup = result.newState.groupActiveState.kind === "removedFromGroup";
    if (advanced || removedFromGroup)
      return {
        ok: true,
        kind: "commit",
        newState: result.newState,
        epoch: result.newState.groupContext.epoch,
        removedFromGroup,
      };
    return { ok: true, kind: "proposal", newState: result.newState };
  } catch (error) {
    return { ok: false, reason: "rejected", detail: describe(error) };
  }
}

/**
 * Why a member's commit may not replace the committer's credential or signature key with the one
 * of its UpdatePath leaf, or undefined when it keeps them or `allowCredentialChange` accepts the
 * change. ts-mls itself only validates the new credential, whoever it names.
 */
async function refusedCredentialChange(
  state: ClientState,
  committerLeafIndex: number,
  newLeaf: LeafNode | undefined,
  options: ProcessOptions,
): Promise<string | undefined> {
  const current = state.ratchetTree[committerLeafIndex * 2];
  if (newLeaf === undefined || current?.nodeType !== "leaf") return undefined;
  const previous = current.leaf;
  if (
    sameCredential(previous.credential, newLeaf.credential) &&
    Buffer.from(previous.signaturePublicKey).equals(Buffer.from(newLeaf.signaturePublicKey))
  )
    return undefined;
  const allowed =
    options.allowCredentialChange !== undefined &&
    (await options.allowCredentialChange(previous.credential, newLeaf.credential));
  return allowed ? undefined : "the committer changed its credential or signature key";
}

/**
 * Reads the sender's leaf from a PrivateMessage's sender data (with the secrets of the message's
 * epoch: the current one or one ts-mls still keeps) and the credential at that leaf in that epoch's
 * tree. ts-mls verifies the content's signature against the same leaf's key while decrypting, so a
 * member cannot name another member's leaf here and still have the message accepted.
 */
async function privateMessageSender(
  state: ClientState,
  cs: CiphersuiteImpl,
  privateMessage: PrivateMessage,
): Promise<MessageSender | undefined> {
  const current = privateMessage.epoch === state.groupContext.epoch;
  const past = current ? undefined : state.historicalReceiverData.get(privateMessage.epoch);
  const senderDataSecret = current ? state.keySchedule.senderDataSecret : past?.senderDataSecret;
  const tree = current ? state.ratchetTree : past?.ratchetTree;
  if (senderDataSecret === undefined || tree === undefined) return undefined;
  let senderData: Awaited<ReturnType<typeof decryptSenderData>>;
  try {
    senderData = await decryptSenderData(privateMessage, senderDataSecret, cs);
  } catch {
    return undefined;
  }
  if (senderData === undefined) return undefined;
  const node = tree[senderData.leafIndex * 2];
  if (node?.nodeType !== "leaf") return undefined;
  return { leafIndex: senderData.leafIndex, credential: node.leaf.credential };
}

function removesLeaf(proposals: ProposalOrRef[], leafIndex: number): boolean {
  return proposals.some(
    (p) =>
      p.proposalOrRefType === "proposal" &&
      p.proposal.proposalType === "remove" &&
      p.proposal.remove.removed === leafIndex,
  );
}

/**
 * A commit that removes this client. ts-mls misses the removal when the same commit adds
 * a client into the freed leaf, so the commit is verified with the public verifier (the
 * state's public part) and the client is marked as removed.
 */
async function processOwnRemoval(
  state: ClientState,
  messageBytes: Uint8Array,
): Promise<ClientResult<ProcessedMessage>> {
  const publicState: PublicGroupState = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    cipherSuite: state.groupContext.cipherSuite,
    groupContext: state.groupContext,
    ratchetTree: state.ratchetTree,
    confirmationTag: state.confirmationTag,
  };
  const verdict = await applyCommit(publicState, messageBytes, {
    validateCredential: (credential, key) =>
      state.clientConfig.authService.validateCredential(credential, key),
  });
  if (!verdict.ok) return { ok: false, reason: "rejected", detail: `${verdict.reason}: ${verdict.detail}` };
  return {
    ok: true,
    kind: "commit",
    newState: {
      ...state,
      ratchetTree: verdict.next.ratchetTree,
      unappliedProposals: {},
      groupActiveState: { kind: "removedFromGroup" },
    },
    epoch: verdict.next.epoch,
    removedFromGroup: true,
  };
}

/**
 * Encrypts application data as a PrivateMessage (an encoded MLSMessage). The message key used is
 * overwritten at once (forward secrecy), and `state` shares it: only `newState` may encrypt again.
 * Encrypting twice from one `state` yields a second message no member can decrypt.
 */
export async function encryptApplicationMessage(
  state: ClientState,
  cs: CiphersuiteImpl,
  data: Uint8Array,
  authenticatedData?: Uint8Array,
): Promise<{ newState: ClientState; message: Uint8Array }> {
  const result = await createApplicationMessage(state, data, cs, authenticatedData);
  discardSecrets(result.consumed);
  return {
    newState: result.newState,
    message: encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_private_message",
      privateMessage: result.privateMessage,
    }),
  };
}

// ---------------------------------------------------------------------------
// State persistence and inspection
// ---------------------------------------------------------------------------

/** Serializes the full client state (secrets included: store it protected). */
export function encodeClientState(state: ClientState): Uint8Array {
  return encodeGroupState(state);
}

/** Restores a state; the credential validator is configuration, not state, so it is passed again. */
export function decodeClientState(
  bytes: Uint8Array,
  validateCredential: ValidateCredential,
): ClientResult<{ state: ClientState }> {
  try {
    const decoded = decodeGroupState(bytes, 0);
    if (decoded === undefined)
      return { ok: false, reason: "malformed", detail: "not an encoded group state" };
    if (decoded[1] !== bytes.length)
      return { ok: false, reason: "malformed", detail: "trailing bytes after group state" };
    return { ok: true, state: { ...decoded[0], clientConfig: clientConfig(validateCredential) } };
  } catch (error) {
    return { ok: false, reason: "malformed", detail: describe(error) };
  }
}

export interface RosterEntry {
  leafIndex: number;
  credential: Credential;
  signaturePublicKey: Uint8Array;
}

/** The members of the group, by leaf index (blank leaves skipped). */
export function roster(state: ClientState): RosterEntry[] {
  const entries: RosterEntry[] = [];
  state.ratchetTree.forEach((node, nodeIndex) => {
    // Leaves sit at even node indices; leaf index = node index / 2.
    if (node?.nodeType === "leaf")
      entries.push({
        leafIndex: nodeIndex / 2,
        credential: node.leaf.credential,
        signaturePublicKey: node.leaf.signaturePublicKey,
      });
  });
  return entries;
}

export function ownLeafIndex(state: ClientState): number {
  return state.privatePath.leafIndex;
}

export function groupEpoch(state: ClientState): bigint {
  return state.groupContext.epoch;
}

export function groupIdOf(state: ClientState): Uint8Array {
  return state.groupContext.groupId;
}

export function treeHashOf(state: ClientState): Uint8Array {
  return state.groupContext.treeHash;
}
