import { parseAcct } from "@mimi/activitypub";
import { MimiClientError } from "./errors.js";

/** What a user types for an account or a channel name, checked before anything is sent. Pure. */

/** `bob@b.test`, `@bob@b.test` or `acct:bob@b.test` -> `acct:bob@b.test`. */
export function normalizeAcct(input: string): string {
  const parsed = parseAcct(input, { lenient: true });
  if (!parsed.ok)
    throw new MimiClientError(`${input} is not an account (expected user@domain): ${parsed.reason}`);
  return `acct:${parsed.acct.user}@${parsed.acct.host}`;
}

export function handleOfAcct(acct: string): string {
  return acct.replace(/^acct:/, "");
}

/** The domain of `acct:user@domain` (or `user@domain`). */
export function domainOfAcct(acct: string): string {
  const handle = handleOfAcct(acct);
  return handle.slice(handle.lastIndexOf("@") + 1);
}

export function checkChannelName(name: string): void {
  if ([...name].length < 1 || [...name].length > 100)
    throw new MimiClientError("a channel name has 1 to 100 characters");
  if (/^https?:\/\//.test(name)) throw new MimiClientError("a channel name must not look like a URL");
  // The channel's server refuses these too: they could forge or hide what other clients show.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(name))
    throw new MimiClientError("a channel name must not contain control or bidi characters");
}
