import { acctOf, type ForeignCa, issueLeaf, verifyCredentialChain } from "./credentials.js";
import { encodeBareKeyPackage, mls, verifyKeyPackage, x509 } from "./libraries.js";

const CIPHERSUITE: mls.CiphersuiteName = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

export type Decrypted = { text: Uint8Array; senderAcct: string | undefined };

/**
 * The foreign user's single MLS client, on ts-mls directly: a KeyPackage with an x509 credential from
 * the foreign CA (docs/protocol.md 4.1), sent bare; joining from a Welcome that carries the ratchet tree
 * (6.2); application messages as PrivateMessages; commits as PublicMessages.
 */
export class ForeignMember {
  state: mls.ClientState | undefined;
  private keyPackage: mls.KeyPackage | undefined;
  private privateKeyPackage: mls.PrivateKeyPackage | undefined;

  private constructor(
    readonly clientId: string,
    private readonly cs: mls.CiphersuiteImpl,
    private readonly config: mls.ClientConfig,
    private readonly issuersOf: (domain: string) => Promise<string[]>,
  ) {}

  /** `issuersOf(domain)` reads the `credential_issuers` a domain publishes (section 2.3). */
  static async create(
    clientId: string,
    issuersOf: (domain: string) => Promise<string[]>,
  ): Promise<ForeignMember> {
    const cs = await mls.getCiphersuiteImpl(mls.getCiphersuiteFromName(CIPHERSUITE));
    const config: mls.ClientConfig = {
      keyRetentionConfig: mls.defaultKeyRetentionConfig,
      lifetimeConfig: mls.defaultLifetimeConfig,
      keyPackageEqualityConfig: mls.defaultKeyPackageEqualityConfig,
      paddingConfig: mls.defaultPaddingConfig,
      authService: {
        validateCredential: async (credential, signaturePublicKey) =>
          credential.credentialType === "x509" &&
          (await verifyCredentialChain(credential.certificates, signaturePublicKey, issuersOf)) !== undefined,
      },
    };
    return new ForeignMember(clientId, cs, config, issuersOf);
  }

  get ciphersuite(): string {
    return CIPHERSUITE;
  }

  /** A fresh KeyPackage as the bare RFC 9420 KeyPackage struct (not framed as an MLSMessage). */
  async bareKeyPackage(ca: ForeignCa, user: string, domain: string): Promise<Uint8Array> {
    const pair = await this.cs.signature.keygen();
    const leaf = await issueLeaf(ca, { user, domain, clientId: this.clientId }, pair.publicKey);
    const now = BigInt(Math.floor(Date.now() / 1000));
    const { publicPackage, privatePackage } = await mls.generateKeyPackageWithKey(
      { credentialType: "x509", certificates: [leaf, ca.der] },
      mls.defaultCapabilities(),
      { notBefore: now - 300n, notAfter: now + 30n * 86_400n },
      [],
      pair,
      this.cs,
    );
    this.keyPackage = publicPackage;
    this.privateKeyPackage = privatePackage;
    return encodeBareKeyPackage(publicPackage);
  }

  /**
   * Reads a claimed KeyPackage as a client would before adding its owner: a framed KeyPackage that
   * verifies, whose credential's `mimi-client:` SAN is `clientId` and whose issuer the acct's domain
   * publishes. Returns the credential's `acct:`.
   */
  async keyPackageAcct(framed: Uint8Array, clientId: string): Promise<string | undefined> {
    const message = decodeWhole(framed);
    if (message.wireformat !== "mls_key_package")
      throw new Error(`expected a KeyPackage, got ${message.wireformat}`);
    const { leafNode } = message.keyPackage;
    if (!(await verifyKeyPackage(message.keyPackage, this.cs.signature))) return undefined;
    if (leafNode.credential.credentialType !== "x509") return undefined;
    const leaf = new x509.X509Certificate(leafNode.credential.certificates[0] ?? new Uint8Array());
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    if (!san?.names.items.some((name: x509.GeneralName) => name.value === `mimi-client:${clientId}`))
      return undefined;
    return verifyCredentialChain(
      leafNode.credential.certificates,
      leafNode.signaturePublicKey,
      this.issuersOf,
    );
  }

  async join(welcomeBytes: Uint8Array): Promise<void> {
    const message = decodeWhole(welcomeBytes);
    if (message.wireformat !== "mls_welcome")
      throw new Error(`expected a Welcome, got ${message.wireformat}`);
    if (!this.keyPackage || !this.privateKeyPackage) throw new Error("no KeyPackage was handed out");
    this.state = await mls.joinGroup(
      message.welcome,
      this.keyPackage,
      this.privateKeyPackage,
      mls.emptyPskIndex,
      this.cs,
      undefined,
      undefined,
      this.config,
    );
  }

  get epoch(): bigint {
    return this.current.groupContext.epoch;
  }

  get groupId(): Uint8Array {
    return this.current.groupContext.groupId;
  }

  get removed(): boolean {
    return this.current.groupActiveState.kind === "removedFromGroup";
  }

  /** The `acct:` of every member, from the ratchet tree's x509 leaves. */
  memberAccts(): string[] {
    const accts: string[] = [];
    for (const node of this.current.ratchetTree) {
      const der =
        node?.nodeType === "leaf" && node.leaf.credential.credentialType === "x509"
          ? node.leaf.credential.certificates[0]
          : undefined;
      if (der) accts.push(acctOf(new x509.X509Certificate(der)) ?? "");
    }
    return accts.sort();
  }

  async decrypt(bytes: Uint8Array): Promise<Uint8Array> {
    const message = decodeWhole(bytes);
    if (message.wireformat !== "mls_private_message")
      throw new Error(`expected a PrivateMessage, got ${message.wireformat}`);
    const result = await mls.processMessage(message, this.current, mls.emptyPskIndex, mls.acceptAll, this.cs);
    this.state = result.newState;
    if (result.kind !== "applicationMessage") throw new Error("not an application message");
    return result.message;
  }

  async applyCommit(bytes: Uint8Array): Promise<void> {
    const message = decodeWhole(bytes);
    if (message.wireformat !== "mls_public_message")
      throw new Error(`expected a PublicMessage, got ${message.wireformat}`);
    const result = await mls.processMessage(message, this.current, mls.emptyPskIndex, mls.acceptAll, this.cs);
    this.state = result.newState;
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    const result = await mls.createApplicationMessage(this.current, plaintext, this.cs);
    this.state = result.newState;
    return mls.encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_private_message",
      privateMessage: result.privateMessage,
    });
  }

  private get current(): mls.ClientState {
    if (!this.state) throw new Error("not in a group");
    return this.state;
  }
}

/** A complete MLSMessage; trailing bytes are refused (section 6.2). */
export function decodeWhole(bytes: Uint8Array): mls.MLSMessage {
  const decoded = mls.decodeMlsMessage(bytes, 0);
  if (decoded === undefined || decoded[1] !== bytes.length) throw new Error("not a complete MLSMessage");
  return decoded[0];
}
