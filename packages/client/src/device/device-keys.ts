import { signProofOfPossession } from "@mimi/credentials";
import {
  type ClientState,
  createKeyPackage,
  generateSignatureKeyPair,
  joinFromWelcome,
  type KeyPackageBundle,
  x509Credential,
} from "@mimi/mls";
import type { DeviceRecord, StoredKeyPackage } from "../account-store.js";
import type { DeviceResult, KeyPackageResult } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { errorText, MimiClientError } from "../errors.js";
import { fromBase64, keyPackageWireBytes, readKeyPackageBytes, toBase64 } from "../mls-wire.js";
import { credentialRenewalDue } from "./credential-renewal.js";
import {
  KEY_PACKAGE_VALIDITY_SECONDS,
  keyPackageId,
  topUpPlan,
  unexpiredKeyPackages,
} from "./key-package-pool.js";
import { lastingKeyPackages } from "./key-package-renewal.js";

/**
 * This device's keys: its registration (a client on the home server, an Ed25519 signature key, an
 * X.509 credential issued after a proof of possession), its KeyPackages on the server, and the
 * private parts of those KeyPackages, which a Welcome needs. Callers hold the account's lock; the
 * device record is read from disk every time.
 */
export class DeviceKeys {
  constructor(
    private readonly ctx: AccountContext,
    private readonly limits: { target: number; threshold: number },
  ) {}

  load(): Promise<DeviceRecord | undefined> {
    return this.ctx.store.loadDevice();
  }

  async require(): Promise<DeviceRecord> {
    const device = await this.ctx.store.loadDevice();
    if (!device) throw new MimiClientError("no device registered here yet: run `mimi device add` first");
    return device;
  }

  /**
   * Registers this device: a client on the server, a signature key, a credential issued after a proof
   * of possession, and a pool of KeyPackages (plus a last-resort one). A failed upload is reported in
   * the result; a later top-up retries it.
   */
  async register(name: string): Promise<DeviceResult> {
    const { api, cs, store } = this.ctx;
    const existing = await store.loadDevice();
    if (existing)
      throw new MimiClientError(
        `this account already has a device here: ${existing.name} (${existing.clientId})`,
      );
    const client = await api.createClient(name);
    const keyPair = await generateSignatureKeyPair(cs);
    const challenge = await api.credentialChallenge(client.id);
    const signature = signProofOfPossession(keyPair.privateKey, {
      challenge: challenge.challenge,
      user: challenge.user,
      domain: challenge.domain,
      clientId: challenge.clientId,
    });
    const issued = await api.issueCredential(client.id, {
      challenge: challenge.challenge,
      signaturePublicKey: toBase64(keyPair.publicKey),
      signature: toBase64(signature),
    });
    const device: DeviceRecord = {
      clientId: client.id,
      name,
      createdAt: this.ctx.now().toISOString(),
      signaturePublicKey: toBase64(keyPair.publicKey),
      signaturePrivateKey: toBase64(keyPair.privateKey),
      credentialChain: issued.chain,
      credentialNotAfter: issued.notAfter,
      keyPackages: [],
    };
    await store.saveDevice(device);
    let keyPackages: DeviceResult["keyPackages"];
    try {
      keyPackages = await this.topUp(device, true);
    } catch (error) {
      keyPackages = { ok: false, detail: errorText(error) };
    }
    return { clientId: client.id, name, credentialNotAfter: issued.notAfter, keyPackages };
  }

  /**
   * Uploads fresh KeyPackages when the server holds fewer than the threshold (and a last-resort one
   * if missing). `force` skips asking the server what it holds and uploads a full pool.
   */
  async topUp(device: DeviceRecord, force: boolean): Promise<KeyPackageResult> {
    await this.renewCredentialIfDue(device);
    let available = 0;
    let hasLastResort = false;
    if (!force) {
      const counts = await this.ctx.api.keyPackageCounts();
      const mine = counts.clients.find((item) => item.clientId === device.clientId);
      available = mine?.available ?? 0;
      hasLastResort = mine?.hasLastResort ?? false;
      // KeyPackages about to expire count as gone: fresh ones replace them in time.
      ({ available, hasLastResort } = lastingKeyPackages(
        { available, hasLastResort, ...(mine?.keyPackageIds ? { keyPackageIds: mine.keyPackageIds } : {}) },
        device.keyPackages,
        this.ctx.now().getTime(),
      ));
    }
    const plan = topUpPlan({ available, hasLastResort }, this.limits);
    if (plan.pool === 0 && !plan.lastResort)
      return { ok: true, clientId: device.clientId, available, uploaded: 0, hasLastResort };
    const credential = x509Credential(device.credentialChain.map(fromBase64));
    const fresh: StoredKeyPackage[] = [];
    const nowSeconds = Math.floor(this.ctx.now().getTime() / 1000);
    for (let i = 0; i < plan.pool + (plan.lastResort ? 1 : 0); i++) {
      const lastResort = plan.lastResort && i === plan.pool;
      const bundle = await createKeyPackage({
        credential,
        signatureKeyPair: signatureKeyPairOf(device),
        cipherSuite: this.ctx.cs,
        lastResort,
        validForSeconds: KEY_PACKAGE_VALIDITY_SECONDS,
        nowSeconds,
      });
      const bytes = keyPackageWireBytes(bundle.keyPackage);
      fresh.push({
        id: await keyPackageId(bytes),
        keyPackage: toBase64(bytes),
        initPrivateKey: toBase64(bundle.privateKeyPackage.initPrivateKey),
        hpkePrivateKey: toBase64(bundle.privateKeyPackage.hpkePrivateKey),
        lastResort,
        createdAt: this.ctx.now().toISOString(),
        notAfter: new Date((nowSeconds + KEY_PACKAGE_VALIDITY_SECONDS) * 1000).toISOString(),
      });
    }
    // Private parts are saved before the upload: a KeyPackage the server may hand out must be joinable.
    device.keyPackages = [
      ...unexpiredKeyPackages(device.keyPackages, this.ctx.now().toISOString()),
      ...fresh,
    ];
    await this.ctx.store.saveDevice(device);
    const pool = fresh.filter((kp) => !kp.lastResort).map((kp) => kp.keyPackage);
    const lastResort = fresh.find((kp) => kp.lastResort)?.keyPackage;
    await this.ctx.api.uploadKeyPackages({
      clientId: device.clientId,
      keyPackages: pool,
      ...(lastResort ? { lastResort } : {}),
    });
    return {
      ok: true,
      clientId: device.clientId,
      available: available + pool.length,
      uploaded: fresh.length,
      hasLastResort: true,
    };
  }

  /**
   * Renews this device's credential when it expires too soon for the KeyPackages made with it (see
   * credential-renewal.ts): the same signature key, a fresh proof of possession, a new certificate.
   * What the device makes from now on carries the new one, and the next key update in each group it
   * is in puts it in its leaf there (conversation/credential-update.ts).
   */
  async renewCredentialIfDue(device: DeviceRecord): Promise<boolean> {
    if (!credentialRenewalDue(device.credentialNotAfter, this.ctx.now().getTime())) return false;
    const { api } = this.ctx;
    const challenge = await api.credentialChallenge(device.clientId);
    const signature = signProofOfPossession(fromBase64(device.signaturePrivateKey), {
      challenge: challenge.challenge,
      user: challenge.user,
      domain: challenge.domain,
      clientId: challenge.clientId,
    });
    const issued = await api.issueCredential(device.clientId, {
      challenge: challenge.challenge,
      signaturePublicKey: device.signaturePublicKey,
      signature: toBase64(signature),
    });
    device.credentialChain = issued.chain;
    device.credentialNotAfter = issued.notAfter;
    await this.ctx.store.saveDevice(device);
    return true;
  }

  /** A top-up after a join: a failure does not undo the join, it is reported as a warning. */
  async topUpQuietly(warnings: string[]): Promise<void> {
    const device = await this.ctx.store.loadDevice();
    if (!device) return;
    try {
      await this.topUp(device, false);
    } catch (error) {
      warnings.push(`topping up KeyPackages failed: ${errorText(error)}`);
    }
  }

  /** A fresh KeyPackage for this device's own leaf in a group it creates (never uploaded). */
  ownLeaf(device: DeviceRecord): Promise<KeyPackageBundle> {
    return createKeyPackage({
      credential: x509Credential(device.credentialChain.map(fromBase64)),
      signatureKeyPair: signatureKeyPairOf(device),
      cipherSuite: this.ctx.cs,
    });
  }

  /** The group a Welcome opens with whichever of this device's stored KeyPackages it was made for. */
  async openWelcome(
    device: DeviceRecord,
    welcome: Uint8Array,
  ): Promise<{ state: ClientState; used: StoredKeyPackage } | undefined> {
    for (const stored of device.keyPackages) {
      const read = readKeyPackageBytes(fromBase64(stored.keyPackage));
      if (!read.ok) continue;
      const result = await joinFromWelcome({
        welcome,
        keyPackage: read.keyPackage,
        privateKeyPackage: {
          initPrivateKey: fromBase64(stored.initPrivateKey),
          hpkePrivateKey: fromBase64(stored.hpkePrivateKey),
          signaturePrivateKey: fromBase64(device.signaturePrivateKey),
        },
        cipherSuite: this.ctx.cs,
        validateCredential: this.ctx.validateCredential,
      });
      if (result.ok) return { state: result.state, used: stored };
    }
    return undefined;
  }

  /** Drops the private parts of a KeyPackage a join used: it is never used twice (a last-resort one stays). */
  async consume(device: DeviceRecord, used: StoredKeyPackage): Promise<void> {
    if (used.lastResort) return;
    device.keyPackages = device.keyPackages.filter((kp) => kp.id !== used.id);
    await this.ctx.store.saveDevice(device);
  }
}

function signatureKeyPairOf(device: DeviceRecord) {
  return {
    publicKey: fromBase64(device.signaturePublicKey),
    privateKey: fromBase64(device.signaturePrivateKey),
  };
}
