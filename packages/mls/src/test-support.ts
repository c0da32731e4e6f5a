/** Test fixtures shared by this package's tests: clients with basic credentials. */
import type { CiphersuiteImpl, ClientState, KeyPackage, PrivateKeyPackage } from "ts-mls";
import {
  basicCredential,
  createKeyPackage,
  generateSignatureKeyPair,
  type SignatureKeyPair,
  type ValidateCredential,
} from "./client.js";

export interface TestClient {
  name: string;
  signatureKeyPair: SignatureKeyPair;
  keyPackage: KeyPackage;
  privateKeyPackage: PrivateKeyPackage;
  state?: ClientState;
}

export async function makeTestClient(name: string, cs: CiphersuiteImpl): Promise<TestClient> {
  const signatureKeyPair = await generateSignatureKeyPair(cs);
  const bundle = await createKeyPackage({
    credential: basicCredential(name),
    signatureKeyPair,
    cipherSuite: cs,
  });
  return { name, signatureKeyPair, ...bundle };
}

/** Accepts basic credentials except the listed identities. */
export function rejectIdentities(...names: string[]): ValidateCredential {
  return async (credential) =>
    credential.credentialType === "basic" && !names.includes(new TextDecoder().decode(credential.identity));
}

export function identityOf(credential: { credentialType: string; identity?: Uint8Array }): string {
  return credential.identity === undefined ? "" : new TextDecoder().decode(credential.identity);
}
