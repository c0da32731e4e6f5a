import { type CiphersuiteImpl, loadCiphersuite, type ValidateCredential } from "@mimi/mls";
import { parseConnectTo } from "@mimi/outbound-http";
import { AccountStore } from "./account-store.js";
import { ProviderApi } from "./api.js";
import type { MimiClientOptions } from "./client-types.js";
import { type CredentialValidation, createCredentialValidation } from "./credential-validation.js";
import { domainOfAcct, handleOfAcct } from "./names.js";
import { StateStore, type StoredAccount } from "./state.js";

/**
 * What every part of one account's client works with: the account, its home server's API, its
 * on-disk state and the MLS cipher suite and credential check. Opened once per `MimiClient`; it holds
 * no channel or device state: every operation re-reads that under the account's lock.
 */
export interface AccountContext {
  account: StoredAccount;
  api: ProviderApi;
  store: AccountStore;
  cs: CiphersuiteImpl;
  validation: CredentialValidation;
  /** The MLS Authentication Service: a credential must chain to a CA its own domain publishes. */
  validateCredential: ValidateCredential;
  now(): Date;
}

export async function openAccountContext(options: MimiClientOptions): Promise<AccountContext> {
  const state = new StateStore(options.home);
  const account = await state.resolveAccount(options.handle);
  const connectTo =
    typeof options.connectTo === "string"
      ? parseConnectTo(options.connectTo)
      : (options.connectTo ?? new Map<string, string>());
  const api = new ProviderApi({
    server: account.server,
    token: account.token,
    connectTo,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const validation = createCredentialValidation({
    homeDomain: domainOfAcct(account.acct),
    homeServer: account.server,
    connectTo,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    account,
    api,
    store: new AccountStore(state.accountDir(handleOfAcct(account.acct))),
    cs: await loadCiphersuite(),
    validation,
    validateCredential: (credential, key) => validation.service.validateCredential(credential, key),
    now: () => options.now?.() ?? new Date(),
  };
}

/** The home provider's base URL (where its channels live), from the account's actor URL. */
export function homeBase(account: StoredAccount): string {
  const actor = account.actor;
  const at = actor.lastIndexOf("/users/");
  return at < 0 ? new URL(actor).origin : actor.slice(0, at);
}
