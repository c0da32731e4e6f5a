import type { MlsWireType, ValidateCredential } from "@mimi/mls";
import { fromWireObject } from "@mimi/mls";
import type { CredentialAuthority } from "../adapters/credential-authority.js";
import { TransientFailure } from "./decision.js";

/** An MLS object of a submission (`mimi:commit`, `mimi:groupInfo`, ...) as bytes, or why it is unusable. */
export function unwrap(
  value: unknown,
  type: MlsWireType,
  field: string,
): { ok: true; bytes: Uint8Array } | { ok: false; summary: string } {
  if (value === undefined) return { ok: false, summary: `${field} is missing` };
  const unwrapped = fromWireObject(value, type);
  return unwrapped.ok ? unwrapped : { ok: false, summary: `${field}: ${unwrapped.detail}` };
}

/** Counts transient credential failures, which MLS verification only sees as "invalid". */
export function trackingValidator(authority: CredentialAuthority): {
  validate: ValidateCredential;
  throwIfTransient(): void;
} {
  let transient: string | undefined;
  return {
    validate: async (credential, key) => {
      const check = await authority.verify(credential, key);
      if (!check.ok && check.transient) transient = check.detail;
      return check.ok;
    },
    throwIfTransient() {
      if (transient !== undefined) throw new TransientFailure(`credential issuers unavailable: ${transient}`);
    },
  };
}
