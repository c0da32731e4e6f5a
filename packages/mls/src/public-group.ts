/**
 * The channel server's view of an MLS group: the public group state (epoch, ratchet tree
 * with public keys only, group context, last confirmation tag) and the verification of
 * every commit before it is accepted.
 *
 * This is the only module that imports ts-mls internals (through `ts-mls/<file>.js`
 * subpaths), so an upgrade of ts-mls touches this file only.
 *
 * What the server verifies for a commit (PublicMessage):
 * - group id and epoch match the tracked state; the sender is a current member;
 * - the signature over FramedContentTBS, which includes the tracked group context;
 * - proposals are Add/Remove by value only; removed leaves exist and are not the committer;
 * - every Add's KeyPackage: version, ciphersuite, KeyPackage and leaf signatures, lifetime,
 *   capabilities, distinct init/encryption keys, key uniqueness in the tree, and the
 *   credential through the injected `validateCredential`;
 * - the UpdatePath (required with removes or without proposals): the committer's new leaf
 *   (signature bound to group id and leaf index, credential, same credential as before
 *   unless `allowCredentialChange` says otherwise), the number of encrypted path secrets
 *   per node against the tree's resolution, fresh public keys, and the parent-hash chain
 *   from the new leaf up;
 * - the next group context: new tree hash and transcript hashes, computed from the
 *   commit; a GroupInfo sent along for the new epoch can be cross-checked against it.
 *
 * What it cannot verify without the group's secrets, and what follows for the server:
 * - the membership tag (needs the epoch's membership key): the signature by a member's
 *   leaf key authenticates the commit instead;
 * - the confirmation tag (needs the next epoch's confirmation key): the server tracks it to
 *   chain transcript hashes, but cannot tell whether the committer derived the epoch
 *   secrets honestly; members will reject such a commit and the channel would need a
 *   fresh commit (or re-creation) to recover;
 * - encrypted path secrets (HPKE ciphertexts): only their number is checked, not that each
 *   member can decrypt a correct secret;
 * - PrivateMessage contents and senders: the server sees group id, epoch and content type
 *   only, so "sender is a member" for application messages rests on the ActivityPub actor
 *   and transport signatures, not on MLS.
 *
 * Proposals by reference, PSK, ReInit, GroupContextExtensions and custom proposals are refused
 * as `unsupported`. External commits (new_member_commit: a new client joining from the GroupInfo)
 * are verified by `applyExternalCommit` only; `applyCommit` refuses them.
 */
import type {
  CiphersuiteImpl,
  CiphersuiteName,
  Credential,
  GroupContext,
  KeyPackage,
  LeafNode,
  RatchetTree,
} from "ts-mls";
import {
  nextEpochContext,
  validateLeafNodeCredentialAndKeyUniqueness,
  validateRatchetTree,
} from "ts-mls/clientState.js";
import { mapDecoders } from "ts-mls/codec/tlsDecoder.js";
import { contramapBufferEncoders, encode } from "ts-mls/codec/tlsEncoder.js";
import { decodeVarLenData, varLenDataEncoder } from "ts-mls/codec/variableLength.js";
import { extensionsSupportedByCapabilities } from "ts-mls/extension.js";
import { type FramedContentCommit, verifyFramedContentSignature } from "ts-mls/framedContent.js";
import { decodeGroupContext, encodeGroupContext, groupContextEncoder } from "ts-mls/groupContext.js";
import { ratchetTreeFromExtension, verifyGroupInfoSignature } from "ts-mls/groupInfo.js";
import { verifyKeyPackage } from "ts-mls/keyPackage.js";
import { verifyLeafNodeSignature, verifyLeafNodeSignatureKeyPackage } from "ts-mls/leafNode.js";
import { decodeMlsMessage, type MLSMessage } from "ts-mls/message.js";
import { verifyParentHashes } from "ts-mls/parentHash.js";
import {
  addLeafNode,
  decodeRatchetTree,
  filteredDirectPathAndCopathResolution,
  ratchetTreeEncoder,
  removeLeafNode,
} from "ts-mls/ratchetTree.js";
import { decodeRequiredCapabilities } from "ts-mls/requiredCapabilities.js";
import { treeHashRoot } from "ts-mls/treeHash.js";
import { leafToNodeIndex, nodeToLeafIndex, toLeafIndex, toNodeIndex } from "ts-mls/treemath.js";
import { applyUpdatePath } from "ts-mls/updatePath.js";
import type { ValidateCredential } from "./credential-check.js";
import { DEFAULT_CIPHERSUITE, loadCiphersuite } from "./crypto.js";

export type VerifyFailureReason =
  | "wrongGroup"
  | "staleEpoch"
  | "futureEpoch"
  | "notAMember"
  | "badSignature"
  | "badKeyPackage"
  | "badCredential"
  | "treeHashMismatch"
  | "malformed"
  | "unsupported";

export interface VerifyFailure {
  ok: false;
  reason: VerifyFailureReason;
  detail: string;
}

export type VerifyResult<T> = ({ ok: true } & T) | VerifyFailure;

/** The public state of a group as the channel's server tracks it. Holds no secrets. */
export interface PublicGroupState {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly cipherSuite: CiphersuiteName;
  /** Group context of the current epoch (tree hash, confirmed transcript hash, extensions). */
  readonly groupContext: GroupContext;
  /** Ratchet tree with public keys only. */
  readonly ratchetTree: RatchetTree;
  /** Confirmation tag that opened the current epoch: the next commit's interim transcript hash is H(confirmed || tag). */
  readonly confirmationTag: Uint8Array;
}

export interface MemberInfo {
  leafIndex: number;
  credential: Credential;
  signaturePublicKey: Uint8Array;
}

export interface VerifyOptions {
  /** The Authentication Service: is this credential valid and bound to this signature key? */
  validateCredential: ValidateCredential;
  /** Clock for KeyPackage lifetimes, seconds since the epoch (default: now). */
  nowSeconds?: number;
  /**
   * Whether a committer may replace its credential in the UpdatePath. Default: only a
   * byte-identical credential is allowed, so a member cannot turn into another identity.
   */
  allowCredentialChange?: (previous: Credential, next: Credential) => Promise<boolean>;
  /** Ciphersuite implementation to use; defaults to the caching provider for the group's suite. */
  cipherSuiteImpl?: CiphersuiteImpl;
}

export interface CommitSummary {
  groupId: Uint8Array;
  /** Epoch the commit was made in. */
  epoch: bigint;
  /** Epoch the commit opens. */
  newEpoch: bigint;
  committer: MemberInfo;
  /** Added clients with the leaf index they got in the new tree. */
  added: MemberInfo[];
  /** Removed members as they were in the old tree. */
  removed: MemberInfo[];
  /** Whether the commit carried an UpdatePath (refreshing the committer's leaf). */
  hasUpdatePath: boolean;
  authenticatedData: Uint8Array;
}

export interface CommitInspection {
  groupId: Uint8Array;
  epoch: bigint;
  senderType: string;
  /** The committer's leaf index when the sender is a member. */
  senderLeafIndex: number | undefined;
  /** The committer as found in the tracked tree (undefined if that leaf is blank or out of range). */
  committer: MemberInfo | undefined;
  adds: { credential: Credential; signaturePublicKey: Uint8Array; keyPackage: KeyPackage }[];
  /** Removed leaves; credential and key are undefined when the leaf is blank in the tracked tree. */
  removes: {
    leafIndex: number;
    credential: Credential | undefined;
    signaturePublicKey: Uint8Array | undefined;
  }[];
  /** Update proposals carried by value (not valid in a commit; listed for the caller's information). */
  updates: { credential: Credential; signaturePublicKey: Uint8Array }[];
  proposalReferences: number;
  otherProposalTypes: string[];
  hasUpdatePath: boolean;
  /**
   * The committer's new leaf from the UpdatePath: its credential and signature key differ from
   * `committer`'s when the commit renews the committer's credential (unverified here).
   */
  updatePathLeaf: { credential: Credential; signaturePublicKey: Uint8Array } | undefined;
  authenticatedData: Uint8Array;
}

function fail(reason: VerifyFailureReason, detail: string): VerifyFailure {
  return { ok: false, reason, detail };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
  );
}

function decodeWholeMessage(bytes: Uint8Array): MLSMessage | undefined {
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined || decoded[1] !== bytes.length) return undefined;
  return decoded[0];
}

function leafAt(tree: RatchetTree, leafIndex: number): LeafNode | undefined {
  if (!Number.isInteger(leafIndex) || leafIndex < 0) return undefined;
  const node = tree[leafToNodeIndex(toLeafIndex(leafIndex))];
  return node?.nodeType === "leaf" ? node.leaf : undefined;
}

function memberInfo(leafIndex: number, leaf: LeafNode): MemberInfo {
  return { leafIndex, credential: leaf.credential, signaturePublicKey: leaf.signaturePublicKey };
}

function credentialBytes(credential: Credential): Uint8Array {
  return credential.credentialType === "basic"
    ? Uint8Array.of(1, ...credential.identity)
    : Uint8Array.of(2, ...credential.certificates.flatMap((der) => [...encode(varLenDataEncoder)(der)]));
}

async function suiteFor(
  name: CiphersuiteName,
  options: Pick<VerifyOptions, "cipherSuiteImpl">,
): Promise<CiphersuiteImpl> {
  if (options.cipherSuiteImpl !== undefined) {
    if (options.cipherSuiteImpl.name !== name)
      throw new Error(`cipherSuiteImpl is ${options.cipherSuiteImpl.name}, group uses ${name}`);
    return options.cipherSuiteImpl;
  }
  return loadCiphersuite(name);
}

/** Members of the tracked group by leaf index. */
export function publicRoster(state: PublicGroupState): MemberInfo[] {
  const members: MemberInfo[] = [];
  state.ratchetTree.forEach((node, nodeIndex) => {
    if (node?.nodeType === "leaf")
      members.push(memberInfo(nodeToLeafIndex(toNodeIndex(nodeIndex)), node.leaf));
  });
  return members;
}

// ---------------------------------------------------------------------------
// Starting from a GroupInfo
// ---------------------------------------------------------------------------

/**
 * Builds the public state from a GroupInfo MLSMessage carrying the ratchet tree: checks the
 * signer's signature, the tree hash against the group context, parent hashes, every leaf
 * (signature, credential via `validateCredential`, capabilities) and key uniqueness.
 * The GroupInfo's confirmation tag cannot be checked (needs the epoch secrets).
 */
export async function publicGroupFromGroupInfo(
  groupInfoMessage: Uint8Array,
  options: VerifyOptions,
): Promise<VerifyResult<{ state: PublicGroupState; signer: MemberInfo }>> {
  try {
    const message = decodeWholeMessage(groupInfoMessage);
    if (message === undefined) return fail("malformed", "not an MLSMessage");
    if (message.wireformat !== "mls_group_info")
      return fail("malformed", `expected a GroupInfo, got ${message.wireformat}`);
    const groupInfo = message.groupInfo;
    const context = groupInfo.groupContext;
    const cs = await suiteFor(context.cipherSuite, options);
    let tree: RatchetTree | undefined;
    try {
      tree = ratchetTreeFromExtension(groupInfo);
    } catch (error) {
      return fail("malformed", `ratchet tree extension: ${describe(error)}`);
    }
    if (tree === undefined) return fail("unsupported", "GroupInfo without ratchet_tree extension");
    const signer = leafAt(tree, groupInfo.signer);
    if (signer === undefined)
      return fail("notAMember", `GroupInfo signer ${groupInfo.signer} is not a leaf of the tree`);
    if (!(await verifyGroupInfoSignature(groupInfo, signer.signaturePublicKey, cs.signature)))
      return fail("badSignature", "GroupInfo signature does not verify with the signer's leaf key");
    if (!bytesEqual(await treeHashRoot(tree, cs.hash), context.treeHash))
      return fail("treeHashMismatch", "ratchet tree does not hash to the group context's tree hash");
    if (!(await verifyParentHashes(tree, cs.hash)))
      return fail("treeHashMismatch", "parent hashes of the ratchet tree do not verify");
    let rejectedCredential = false;
    const authService = {
      async validateCredential(credential: Credential, key: Uint8Array) {
        const valid = await options.validateCredential(credential, key);
        if (!valid) rejectedCredential = true;
        return valid;
      },
    };
    const treeError = await validateRatchetTree(
      tree,
      context,
      { maximumTotalLifetime: 0n, validateLifetimeOnReceive: false },
      authService,
      context.treeHash,
      cs,
    );
    if (treeError !== undefined)
      return fail(
        rejectedCredential
          ? "badCredential"
          : treeError.name === "CryptoVerificationError"
            ? "badSignature"
            : "malformed",
        treeError.message,
      );
    return {
      ok: true,
      state: {
        groupId: context.groupId,
        epoch: context.epoch,
        cipherSuite: context.cipherSuite,
        groupContext: context,
        ratchetTree: tree,
        confirmationTag: groupInfo.confirmationTag,
      },
      signer: memberInfo(groupInfo.signer, signer),
    };
  } catch (error) {
    return fail("malformed", describe(error));
  }
}

/**
 * Cross-check: a GroupInfo the committer sends along must describe exactly the tracked
 * epoch (group context byte-equal, same confirmation tag), be signed by a current member,
 * and, if it carries a ratchet tree, carry the tracked one.
 */
export async function checkGroupInfoMatches(
  state: PublicGroupState,
  groupInfoMessage: Uint8Array,
  options: Pick<VerifyOptions, "cipherSuiteImpl"> = {},
): Promise<VerifyResult<{ signer: MemberInfo }>> {
  try {
    const message = decodeWholeMessage(groupInfoMessage);
    if (message === undefined) return fail("malformed", "not an MLSMessage");
    if (message.wireformat !== "mls_group_info")
      return fail("malformed", `expected a GroupInfo, got ${message.wireformat}`);
    const groupInfo = message.groupInfo;
    if (!bytesEqual(groupInfo.groupContext.groupId, state.groupId))
      return fail("wrongGroup", "GroupInfo is for another group");
    if (groupInfo.groupContext.epoch < state.epoch)
      return fail("staleEpoch", `GroupInfo epoch ${groupInfo.groupContext.epoch}`);
    if (groupInfo.groupContext.epoch > state.epoch)
      return fail("futureEpoch", `GroupInfo epoch ${groupInfo.groupContext.epoch}`);
    if (!bytesEqual(encodeGroupContext(groupInfo.groupContext), encodeGroupContext(state.groupContext)))
      return fail("treeHashMismatch", "GroupInfo's group context differs from the computed one");
    if (!bytesEqual(groupInfo.confirmationTag, state.confirmationTag))
      return fail("malformed", "GroupInfo's confirmation tag differs from the commit's");
    const signer = leafAt(state.ratchetTree, groupInfo.signer);
    if (signer === undefined)
      return fail("notAMember", `GroupInfo signer ${groupInfo.signer} is not a member`);
    const cs = await suiteFor(state.cipherSuite, options);
    if (!(await verifyGroupInfoSignature(groupInfo, signer.signaturePublicKey, cs.signature)))
      return fail("badSignature", "GroupInfo signature does not verify");
    const tree = ratchetTreeFromExtension(groupInfo);
    if (
      tree !== undefined &&
      !bytesEqual(encode(ratchetTreeEncoder)(tree), encode(ratchetTreeEncoder)(state.ratchetTree))
    )
      return fail("treeHashMismatch", "GroupInfo's ratchet tree differs from the tracked tree");
    return { ok: true, signer: memberInfo(groupInfo.signer, signer) };
  } catch (error) {
    return fail("malformed", describe(error));
  }
}

// ---------------------------------------------------------------------------
// Commits
// ---------------------------------------------------------------------------

type DecodedCommit = { content: FramedContentCommit; signature: Uint8Array; confirmationTag: Uint8Array };

function decodeCommitMessage(bytes: Uint8Array): VerifyResult<{ commit: DecodedCommit }> {
  const message = decodeWholeMessage(bytes);
  if (message === undefined) return fail("malformed", "not an MLSMessage");
  if (message.wireformat !== "mls_public_message")
    return fail("malformed", `expected a PublicMessage, got ${message.wireformat}`);
  const { content, auth } = message.publicMessage;
  if (content.contentType !== "commit" || auth.contentType !== "commit")
    return fail("malformed", `expected a commit, got ${content.contentType}`);
  return { ok: true, commit: { content, signature: auth.signature, confirmationTag: auth.confirmationTag } };
}

/** Reads a commit without verifying it or changing state (for policy checks before `applyCommit`). */
export function inspectCommit(
  state: PublicGroupState,
  publicMessage: Uint8Array,
): VerifyResult<{ inspection: CommitInspection }> {
  try {
    const decoded = decodeCommitMessage(publicMessage);
    if (!decoded.ok) return decoded;
    const { content } = decoded.commit;
    const senderLeafIndex = content.sender.senderType === "member" ? content.sender.leafIndex : undefined;
    const committerLeaf =
      senderLeafIndex === undefined ? undefined : leafAt(state.ratchetTree, senderLeafIndex);
    const inspection: CommitInspection = {
      groupId: content.groupId,
      epoch: content.epoch,
      senderType: content.sender.senderType,
      senderLeafIndex,
      committer:
        senderLeafIndex === undefined || committerLeaf === undefined
          ? undefined
          : memberInfo(senderLeafIndex, committerLeaf),
      adds: [],
      removes: [],
      updates: [],
      proposalReferences: 0,
      otherProposalTypes: [],
      hasUpdatePath: content.commit.path !== undefined,
      updatePathLeaf:
        content.commit.path === undefined
          ? undefined
          : {
              credential: content.commit.path.leafNode.credential,
              signaturePublicKey: content.commit.path.leafNode.signaturePublicKey,
            },
      authenticatedData: content.authenticatedData,
    };
    for (const item of content.commit.proposals) {
      if (item.proposalOrRefType === "reference") {
        inspection.proposalReferences++;
        continue;
      }
      const proposal = item.proposal;
      if (proposal.proposalType === "add") {
        const keyPackage = proposal.add.keyPackage;
        inspection.adds.push({
          credential: keyPackage.leafNode.credential,
          signaturePublicKey: keyPackage.leafNode.signaturePublicKey,
          keyPackage,
        });
      } else if (proposal.proposalType === "remove") {
        const leaf = leafAt(state.ratchetTree, proposal.remove.removed);
        inspection.removes.push({
          leafIndex: proposal.remove.removed,
          credential: leaf?.credential,
          signaturePublicKey: leaf?.signaturePublicKey,
        });
      } else if (proposal.proposalType === "update") {
        inspection.updates.push({
          credential: proposal.update.leafNode.credential,
          signaturePublicKey: proposal.update.leafNode.signaturePublicKey,
        });
      } else {
        inspection.otherProposalTypes.push(String(proposal.proposalType));
      }
    }
    return { ok: true, inspection };
  } catch (error) {
    return fail("malformed", describe(error));
  }
}

async function checkKeyPackage(
  keyPackage: KeyPackage,
  state: PublicGroupState,
  treeBefore: RatchetTree,
  cs: CiphersuiteImpl,
  options: VerifyOptions,
): Promise<VerifyFailure | undefined> {
  const leaf = keyPackage.leafNode;
  if (keyPackage.version !== state.groupContext.version)
    return fail("badKeyPackage", "KeyPackage protocol version differs from the group's");
  if (keyPackage.cipherSuite !== state.cipherSuite)
    return fail("badKeyPackage", "KeyPackage ciphersuite differs from the group's");
  if (!(await verifyKeyPackage(keyPackage, cs.signature)))
    return fail("badKeyPackage", "KeyPackage signature does not verify");
  if (!(await verifyLeafNodeSignatureKeyPackage(leaf, cs.signature)))
    return fail("badKeyPackage", "KeyPackage leaf node signature does not verify");
  if (bytesEqual(keyPackage.initKey, leaf.hpkePublicKey))
    return fail("badKeyPackage", "KeyPackage init key equals its encryption key");
  const now = BigInt(options.nowSeconds ?? Math.floor(Date.now() / 1000));
  if (leaf.lifetime.notBefore > now || leaf.lifetime.notAfter < now)
    return fail("badKeyPackage", "KeyPackage is outside its lifetime");
  return newLeafError(state, treeBefore, leaf, options, { name: "KeyPackage", leafFault: "badKeyPackage" });
}

/**
 * What a new member's leaf (an Add's KeyPackage, an external joiner's) must hold to enter the tree
 * before it: the group's version, ciphersuite, extensions and required capabilities supported, every
 * credential type in use supported, its own extensions declared, keys not already in the tree, and a
 * credential `validateCredential` accepts. `leafFault` is the reason for a leaf that is wrong in itself.
 */
async function newLeafError(
  state: PublicGroupState,
  treeBefore: RatchetTree,
  leaf: LeafNode,
  options: VerifyOptions,
  subject: { name: string; leafFault: "badKeyPackage" | "malformed" },
): Promise<VerifyFailure | undefined> {
  const { name, leafFault } = subject;
  if (
    !leaf.capabilities.versions.includes(state.groupContext.version) ||
    !leaf.capabilities.ciphersuites.includes(state.cipherSuite)
  )
    return fail("badKeyPackage", `${name} does not support the group's version and ciphersuite`);
  if (!extensionsSupportedByCapabilities(state.groupContext.extensions, leaf.capabilities))
    return fail("badKeyPackage", `${name} does not support the group context extensions`);
  if (!extensionsSupportedByCapabilities(leaf.extensions, leaf.capabilities))
    return fail(leafFault, `${name}'s leaf uses extensions missing from its capabilities`);
  const capabilityError = requiredCapabilitiesError(state.groupContext, leaf);
  if (capabilityError !== undefined) return capabilityError;
  for (const node of treeBefore) {
    if (
      node?.nodeType === "leaf" &&
      !leaf.capabilities.credentials.includes(node.leaf.credential.credentialType)
    )
      return fail("badKeyPackage", `${name} does not support a credential type used in the group`);
  }
  const uniqueness = await validateLeafNodeCredentialAndKeyUniqueness(treeBefore, leaf);
  if (uniqueness !== undefined) return fail(leafFault, `${name}'s leaf: ${uniqueness.message}`);
  const clash = keyClash(treeBefore, leaf, undefined);
  if (clash !== undefined) return fail(leafFault, `${name}'s leaf: ${clash}`);
  if (!(await options.validateCredential(leaf.credential, leaf.signaturePublicKey)))
    return fail("badCredential", `${name}'s credential rejected`);
  return undefined;
}

function requiredCapabilitiesError(context: GroupContext, leaf: LeafNode): VerifyFailure | undefined {
  const extension = context.extensions.find((e) => e.extensionType === "required_capabilities");
  if (extension === undefined) return undefined;
  const required = decodeRequiredCapabilities(extension.extensionData, 0)?.[0];
  if (required === undefined)
    return fail("malformed", "group has an undecodable required_capabilities extension");
  const supported =
    required.credentialTypes.every((c) => leaf.capabilities.credentials.includes(c)) &&
    required.extensionTypes.every((e) => leaf.capabilities.extensions.includes(e)) &&
    required.proposalTypes.every((p) => leaf.capabilities.proposals.includes(p));
  return supported
    ? undefined
    : fail("badKeyPackage", "leaf does not support the group's required capabilities");
}

/**
 * Verifies a commit (PublicMessage) against the tracked state and computes the next
 * state. Nothing is changed on failure; the caller stores `next` only on success.
 */
export async function applyCommit(
  state: PublicGroupState,
  publicMessage: Uint8Array,
  options: VerifyOptions,
): Promise<VerifyResult<{ next: PublicGroupState; summary: CommitSummary }>> {
  return malformedOnThrow(() => verifyAndApply(state, publicMessage, options));
}

async function verifyAndApply(
  state: PublicGroupState,
  publicMessage: Uint8Array,
  options: VerifyOptions,
): Promise<VerifyResult<{ next: PublicGroupState; summary: CommitSummary }>> {
  const placed = placedCommit(state, publicMessage);
  if (!placed.ok) return placed;
  const { content, signature, confirmationTag } = placed.commit;
  if (content.sender.senderType !== "member")
    return fail("unsupported", `commit sender type ${content.sender.senderType}`);
  const committerIndex = content.sender.leafIndex;
  const committerLeaf = leafAt(state.ratchetTree, committerIndex);
  if (committerLeaf === undefined) return fail("notAMember", `leaf ${committerIndex} is not a member`);

  const cs = await suiteFor(state.cipherSuite, options);
  if (!(await commitSignatureVerifies(placed.commit, committerLeaf.signaturePublicKey, state, cs)))
    return fail("badSignature", "commit signature does not verify against the tracked group context");

  // Proposals: only Add and Remove, by value.
  const removes: number[] = [];
  const adds: KeyPackage[] = [];
  for (const item of content.commit.proposals) {
    if (item.proposalOrRefType === "reference")
      return fail("unsupported", "proposals by reference are not supported");
    const proposal = item.proposal;
    if (proposal.proposalType === "remove") removes.push(proposal.remove.removed);
    else if (proposal.proposalType === "add") adds.push(proposal.add.keyPackage);
    else if (proposal.proposalType === "update")
      return fail("malformed", "a commit cannot carry an Update proposal by value");
    else return fail("unsupported", `proposal type ${String(proposal.proposalType)}`);
  }

  const removed: MemberInfo[] = [];
  for (const leafIndex of removes) {
    const leaf = leafAt(state.ratchetTree, leafIndex);
    if (leaf === undefined) return fail("malformed", `remove of blank or unknown leaf ${leafIndex}`);
    if (leafIndex === committerIndex) return fail("malformed", "a commit cannot remove its committer");
    if (removed.some((r) => r.leafIndex === leafIndex))
      return fail("malformed", `leaf ${leafIndex} removed twice`);
    removed.push(memberInfo(leafIndex, leaf));
  }

  for (const [i, keyPackage] of adds.entries()) {
    const failure = await checkKeyPackage(keyPackage, state, state.ratchetTree, cs, options);
    if (failure !== undefined) return { ...failure, detail: `add #${i}: ${failure.detail}` };
    const duplicate = adds.some(
      (other, j) =>
        j !== i && bytesEqual(other.leafNode.signaturePublicKey, keyPackage.leafNode.signaturePublicKey),
    );
    if (duplicate) return fail("badKeyPackage", `add #${i}: two adds share a signature key`);
  }

  // Apply proposals in RFC 9420 order: removes, then adds.
  let tree = state.ratchetTree;
  for (const leafIndex of removes) tree = removeLeafNode(tree, toLeafIndex(leafIndex));
  const added: MemberInfo[] = [];
  for (const keyPackage of adds) {
    const [nextTree, nodeIndex] = addLeafNode(tree, keyPackage.leafNode);
    tree = nextTree;
    added.push(memberInfo(nodeToLeafIndex(nodeIndex), keyPackage.leafNode));
  }

  const path = content.commit.path;
  const pathRequired = adds.length + removes.length === 0 || removes.length > 0;
  if (pathRequired && path === undefined) return fail("malformed", "this commit needs an UpdatePath");
  if (path !== undefined) {
    const newLeaf = path.leafNode;
    if (!(await verifyLeafNodeSignature(newLeaf, state.groupId, committerIndex, cs.signature)))
      return fail("badSignature", "UpdatePath leaf node signature does not verify");
    if (
      !bytesEqual(newLeaf.signaturePublicKey, committerLeaf.signaturePublicKey) ||
      !sameCredential(committerLeaf.credential, newLeaf.credential)
    ) {
      const allowed =
        options.allowCredentialChange !== undefined &&
        (await options.allowCredentialChange(committerLeaf.credential, newLeaf.credential));
      if (!allowed) return fail("badCredential", "committer changed its credential or signature key");
    }
    if (!(await options.validateCredential(newLeaf.credential, newLeaf.signaturePublicKey)))
      return fail("badCredential", "committer's credential rejected");
    const capabilityError = requiredCapabilitiesError(state.groupContext, newLeaf);
    if (capabilityError !== undefined) return capabilityError;
    if (!extensionsSupportedByCapabilities(newLeaf.extensions, newLeaf.capabilities))
      return fail("malformed", "UpdatePath leaf uses extensions missing from its capabilities");
    const uniqueness = await validateLeafNodeCredentialAndKeyUniqueness(tree, newLeaf, committerIndex);
    if (uniqueness !== undefined) return fail("malformed", `UpdatePath leaf: ${uniqueness.message}`);
    const clash = keyClash(tree, newLeaf, committerIndex);
    if (clash !== undefined) return fail("malformed", `UpdatePath leaf: ${clash}`);

    // New members get the path secret in their Welcome: no ciphertext is for them.
    const addedNodes = new Set<number>(added.map((a) => leafToNodeIndex(toLeafIndex(a.leafIndex))));
    const withPath = await withUpdatePath(tree, toLeafIndex(committerIndex), path, cs, addedNodes);
    if (!withPath.ok) return withPath;
    tree = withPath.tree;
  }

  const next = await nextState(state, content, signature, confirmationTag, tree, cs);
  return {
    ok: true,
    next,
    summary: {
      groupId: state.groupId,
      epoch: state.epoch,
      newEpoch: next.epoch,
      committer: memberInfo(committerIndex, committerLeaf),
      added,
      removed,
      hasUpdatePath: path !== undefined,
      authenticatedData: content.authenticatedData,
    },
  };
}

/** A verifier's result; what it throws (a decoder's or ts-mls's error) is a malformed commit. */
async function malformedOnThrow<T>(verify: () => Promise<VerifyResult<T>>): Promise<VerifyResult<T>> {
  try {
    return await verify();
  } catch (error) {
    return fail("malformed", describe(error));
  }
}

/** A PublicMessage's commit, when it is for the tracked group at its epoch (else wrong, stale or future). */
function placedCommit(
  state: PublicGroupState,
  publicMessage: Uint8Array,
): VerifyResult<{ commit: DecodedCommit }> {
  const decoded = decodeCommitMessage(publicMessage);
  if (!decoded.ok) return decoded;
  const { groupId, epoch } = decoded.commit.content;
  if (!bytesEqual(groupId, state.groupId)) return fail("wrongGroup", "commit is for another group");
  if (epoch < state.epoch) return fail("staleEpoch", `commit for epoch ${epoch}, group is at ${state.epoch}`);
  if (epoch > state.epoch)
    return fail("futureEpoch", `commit for epoch ${epoch}, group is at ${state.epoch}`);
  return decoded;
}

/** The commit's signature, by `signatureKey`, over its content and the tracked group context. */
function commitSignatureVerifies(
  commit: DecodedCommit,
  signatureKey: Uint8Array,
  state: PublicGroupState,
  cs: CiphersuiteImpl,
): Promise<boolean> {
  const { content, signature, confirmationTag } = commit;
  return verifyFramedContentSignature(
    signatureKey,
    "mls_public_message",
    content,
    { contentType: "commit", signature, confirmationTag },
    state.groupContext,
    cs.signature,
  );
}

/**
 * `tree` with the committer's UpdatePath applied: each path node carries one ciphertext per node of
 * its copath resolution except the `excluded` ones (new members, the joiner), then the path's public
 * keys are copied, parent hashes recomputed and the new leaf's parent hash checked.
 */
async function withUpdatePath(
  tree: RatchetTree,
  leafIndex: ReturnType<typeof toLeafIndex>,
  path: Parameters<typeof applyUpdatePath>[2],
  cs: CiphersuiteImpl,
  excluded: ReadonlySet<number>,
  external = false,
): Promise<VerifyResult<{ tree: RatchetTree }>> {
  const filteredPath = filteredDirectPathAndCopathResolution(leafIndex, tree);
  if (filteredPath.length !== path.nodes.length)
    return fail(
      "malformed",
      `UpdatePath has ${path.nodes.length} nodes, filtered direct path has ${filteredPath.length}`,
    );
  for (const [level, entry] of filteredPath.entries()) {
    const expected = entry.resolution.filter((nodeIndex) => !excluded.has(nodeIndex)).length;
    const actual = path.nodes[level]?.encryptedPathSecret.length;
    if (actual !== expected)
      return fail("malformed", `UpdatePath node ${level} has ${actual} ciphertexts, expected ${expected}`);
  }
  try {
    return { ok: true, tree: await applyUpdatePath(tree, leafIndex, path, cs.hash, external) };
  } catch (error) {
    const detail = describe(error);
    return fail(/parent hash/i.test(detail) ? "treeHashMismatch" : "malformed", detail);
  }
}

/** The tracked state of the epoch a verified commit opens, with the tree it leaves. */
async function nextState(
  state: PublicGroupState,
  content: Parameters<typeof nextEpochContext>[2],
  signature: Uint8Array,
  confirmationTag: Uint8Array,
  tree: RatchetTree,
  cs: CiphersuiteImpl,
): Promise<PublicGroupState> {
  const nextContext = await nextEpochContext(
    state.groupContext,
    "mls_public_message",
    content,
    signature,
    await treeHashRoot(tree, cs.hash),
    state.confirmationTag,
    cs.hash,
  );
  return {
    groupId: state.groupId,
    epoch: nextContext.epoch,
    cipherSuite: state.cipherSuite,
    groupContext: nextContext,
    ratchetTree: tree,
    confirmationTag,
  };
}

/** A leaf's keys must not already be in the tree (its own old leaf excepted for the signature key). */
function keyClash(tree: RatchetTree, leaf: LeafNode, ownLeafIndex: number | undefined): string | undefined {
  for (const [nodeIndex, node] of tree.entries()) {
    if (node === undefined) continue;
    const hpkeKey = node.nodeType === "leaf" ? node.leaf.hpkePublicKey : node.parent.hpkePublicKey;
    if (bytesEqual(hpkeKey, leaf.hpkePublicKey)) return "encryption key already used in the tree";
    if (
      node.nodeType === "leaf" &&
      nodeToLeafIndex(toNodeIndex(nodeIndex)) !== ownLeafIndex &&
      bytesEqual(node.leaf.signaturePublicKey, leaf.signaturePublicKey)
    )
      return "signature key already used by another member";
  }
  return undefined;
}

/** Whether two credentials are byte-identical (type and content). */
export function sameCredential(a: Credential, b: Credential): boolean {
  return a.credentialType === b.credentialType && bytesEqual(credentialBytes(a), credentialBytes(b));
}

// ---------------------------------------------------------------------------
// External commits
// ---------------------------------------------------------------------------

export interface ExternalCommitSummary {
  groupId: Uint8Array;
  /** Epoch the commit was made in. */
  epoch: bigint;
  /** Epoch the commit opens. */
  newEpoch: bigint;
  /** The joining client, at the leaf it got in the new tree. */
  joiner: MemberInfo;
  /** The leaf the joiner replaces (a resync: the same client's old leaf), as it was in the old tree. */
  removed: MemberInfo[];
  authenticatedData: Uint8Array;
}

/**
 * Verifies an external commit (sender `new_member_commit`, RFC 9420 section 12.4.3.2) against the
 * tracked state and computes the next state: a client that is not in the group adds itself from the
 * GroupInfo's external public key. Checked: group and epoch; exactly one ExternalInit, at most one
 * Remove (a resync of an old leaf, which must exist) and nothing else, all by value; an UpdatePath
 * whose new leaf (placed where every member will place it: the leftmost blank leaf after the remove)
 * is signed for that leaf index, carries a credential `validateCredential` accepts, supports the
 * group's capabilities and holds keys not already in the tree; the commit's signature with that
 * leaf's key over the tracked group context; the number of path secrets against the copath
 * resolution; parent hashes; the next group context. Who the joiner may be (a member's own new
 * device) is the caller's policy. Nothing is changed on failure.
 */
export async function applyExternalCommit(
  state: PublicGroupState,
  publicMessage: Uint8Array,
  options: VerifyOptions,
): Promise<VerifyResult<{ next: PublicGroupState; summary: ExternalCommitSummary }>> {
  return malformedOnThrow(() => verifyAndApplyExternal(state, publicMessage, options));
}

async function verifyAndApplyExternal(
  state: PublicGroupState,
  publicMessage: Uint8Array,
  options: VerifyOptions,
): Promise<VerifyResult<{ next: PublicGroupState; summary: ExternalCommitSummary }>> {
  const placed = placedCommit(state, publicMessage);
  if (!placed.ok) return placed;
  const { content, signature, confirmationTag } = placed.commit;
  if (content.sender.senderType !== "new_member_commit")
    return fail("unsupported", `expected an external commit, the sender is ${content.sender.senderType}`);
  const path = content.commit.path;
  if (path === undefined) return fail("malformed", "an external commit needs an UpdatePath");

  let externalInits = 0;
  const removes: number[] = [];
  for (const item of content.commit.proposals) {
    if (item.proposalOrRefType === "reference")
      return fail("unsupported", "proposals by reference are not supported");
    const proposal = item.proposal;
    if (proposal.proposalType === "external_init") externalInits++;
    else if (proposal.proposalType === "remove") removes.push(proposal.remove.removed);
    else
      return fail(
        "unsupported",
        `an external commit cannot carry a ${String(proposal.proposalType)} proposal`,
      );
  }
  if (externalInits !== 1) return fail("malformed", "an external commit carries exactly one ExternalInit");
  if (removes.length > 1) return fail("malformed", "an external commit removes at most one leaf");

  const removed: MemberInfo[] = [];
  let tree = state.ratchetTree;
  for (const leafIndex of removes) {
    const leaf = leafAt(tree, leafIndex);
    if (leaf === undefined) return fail("malformed", `remove of blank or unknown leaf ${leafIndex}`);
    removed.push(memberInfo(leafIndex, leaf));
    tree = removeLeafNode(tree, toLeafIndex(leafIndex));
  }

  const cs = await suiteFor(state.cipherSuite, options);
  const newLeaf = path.leafNode;
  if (!(await commitSignatureVerifies(placed.commit, newLeaf.signaturePublicKey, state, cs)))
    return fail("badSignature", "commit signature does not verify with the joiner's leaf key");

  const [treeWithJoiner, joinerNode] = addLeafNode(tree, newLeaf);
  const joinerIndex = nodeToLeafIndex(joinerNode);
  if (!(await verifyLeafNodeSignature(newLeaf, state.groupId, joinerIndex, cs.signature)))
    return fail("badSignature", "the joiner's leaf node signature does not verify");
  const leafError = await newLeafError(state, tree, newLeaf, options, {
    name: "the joiner",
    leafFault: "malformed",
  });
  if (leafError !== undefined) return leafError;

  // The joiner itself is in no copath resolution.
  const withPath = await withUpdatePath(treeWithJoiner, joinerIndex, path, cs, new Set([joinerNode]), true);
  if (!withPath.ok) return withPath;
  const next = await nextState(state, content, signature, confirmationTag, withPath.tree, cs);
  return {
    ok: true,
    next,
    summary: {
      groupId: state.groupId,
      epoch: state.epoch,
      newEpoch: next.epoch,
      joiner: memberInfo(joinerIndex, newLeaf),
      removed,
      authenticatedData: content.authenticatedData,
    },
  };
}

// ---------------------------------------------------------------------------
// PrivateMessage headers
// ---------------------------------------------------------------------------

/** The unencrypted header of a PrivateMessage: all the server can read of it. */
export function inspectPrivateMessage(
  state: PublicGroupState,
  privateMessage: Uint8Array,
): VerifyResult<{ epoch: bigint; contentType: string; authenticatedData: Uint8Array }> {
  try {
    const message = decodeWholeMessage(privateMessage);
    if (message === undefined) return fail("malformed", "not an MLSMessage");
    if (message.wireformat !== "mls_private_message")
      return fail("malformed", `expected a PrivateMessage, got ${message.wireformat}`);
    const header = message.privateMessage;
    if (!bytesEqual(header.groupId, state.groupId)) return fail("wrongGroup", "message is for another group");
    if (header.epoch > state.epoch)
      return fail("futureEpoch", `message epoch ${header.epoch}, group is at ${state.epoch}`);
    return {
      ok: true,
      epoch: header.epoch,
      contentType: header.contentType,
      authenticatedData: header.authenticatedData,
    };
  } catch (error) {
    return fail("malformed", describe(error));
  }
}

// ---------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------

const STATE_FORMAT_VERSION = 1;
const stateEncoder = contramapBufferEncoders(
  [groupContextEncoder, varLenDataEncoder, ratchetTreeEncoder],
  (s: PublicGroupState) => [s.groupContext, s.confirmationTag, s.ratchetTree] as const,
);
const stateDecoder = mapDecoders(
  [decodeGroupContext, decodeVarLenData, decodeRatchetTree],
  (groupContext, confirmationTag, ratchetTree) => ({
    groupContext,
    confirmationTag,
    ratchetTree,
  }),
);

export function encodePublicGroupState(state: PublicGroupState): Uint8Array {
  const body = encode(stateEncoder)(state);
  const out = new Uint8Array(body.length + 1);
  out[0] = STATE_FORMAT_VERSION;
  out.set(body, 1);
  return out;
}

export function decodePublicGroupState(bytes: Uint8Array): VerifyResult<{ state: PublicGroupState }> {
  try {
    if (bytes[0] !== STATE_FORMAT_VERSION) return fail("unsupported", `state format ${bytes[0]}`);
    const body = bytes.subarray(1);
    const decoded = stateDecoder(body, 0);
    if (decoded === undefined || decoded[1] !== body.length)
      return fail("malformed", "not an encoded public group state");
    const { groupContext, confirmationTag, ratchetTree } = decoded[0];
    return {
      ok: true,
      state: {
        groupId: groupContext.groupId,
        epoch: groupContext.epoch,
        cipherSuite: groupContext.cipherSuite,
        groupContext,
        ratchetTree,
        confirmationTag,
      },
    };
  } catch (error) {
    return fail("malformed", describe(error));
  }
}

export interface KeyPackageValidationOptions {
  /** Ciphersuites this provider accepts (default: the default suite only). */
  supportedCipherSuites?: readonly CiphersuiteName[];
  nowSeconds?: number;
  /** Longest lifetime accepted, so a leaked KeyPackage cannot stay usable for years (default 1 year). */
  maxLifetimeSeconds?: number;
}

/**
 * Checks a KeyPackage on its own, before a directory stores it: decodes it, requires a supported
 * ciphersuite and MLS 1.0, verifies the KeyPackage and leaf signatures, distinct init and encryption
 * keys, a current lifetime of bounded length, and capabilities that list the suite. The credential is
 * the caller's to check (it knows whose KeyPackage this should be).
 */
export async function validateKeyPackage(
  bytes: Uint8Array,
  options: KeyPackageValidationOptions = {},
): Promise<VerifyResult<{ keyPackage: KeyPackage }>> {
  let keyPackage: KeyPackage;
  try {
    const decoded = decodeMlsMessage(bytes.slice(), 0);
    if (decoded === undefined || decoded[0].wireformat !== "mls_key_package")
      return fail("malformed", "not an MLSMessage carrying a KeyPackage");
    keyPackage = decoded[0].keyPackage;
  } catch (error) {
    return fail("malformed", describe(error));
  }
  const supported = options.supportedCipherSuites ?? [DEFAULT_CIPHERSUITE];
  if (!supported.includes(keyPackage.cipherSuite))
    return fail("unsupported", `ciphersuite ${keyPackage.cipherSuite} is not supported here`);
  if (keyPackage.version !== "mls10") return fail("unsupported", "only MLS 1.0 KeyPackages are accepted");
  const leaf = keyPackage.leafNode;
  try {
    const cs = await loadCiphersuite(keyPackage.cipherSuite);
    if (!(await verifyKeyPackage(keyPackage, cs.signature)))
      return fail("badKeyPackage", "KeyPackage signature does not verify");
    if (!(await verifyLeafNodeSignatureKeyPackage(leaf, cs.signature)))
      return fail("badKeyPackage", "KeyPackage leaf node signature does not verify");
  } catch (error) {
    return fail("malformed", describe(error));
  }
  if (bytesEqual(keyPackage.initKey, leaf.hpkePublicKey))
    return fail("badKeyPackage", "KeyPackage init key equals its encryption key");
  const now = BigInt(options.nowSeconds ?? Math.floor(Date.now() / 1000));
  if (leaf.lifetime.notBefore > now || leaf.lifetime.notAfter < now)
    return fail("badKeyPackage", "KeyPackage is outside its lifetime");
  const maxLifetime = BigInt(options.maxLifetimeSeconds ?? 366 * 86_400);
  if (leaf.lifetime.notAfter - now > maxLifetime)
    return fail("badKeyPackage", "KeyPackage lifetime is longer than this provider accepts");
  if (!leaf.capabilities.ciphersuites.includes(keyPackage.cipherSuite))
    return fail("badKeyPackage", "KeyPackage capabilities do not list its own ciphersuite");
  if (!extensionsSupportedByCapabilities(leaf.extensions, leaf.capabilities))
    return fail("badKeyPackage", "KeyPackage leaf uses extensions missing from its capabilities");
  return { ok: true, keyPackage };
}
