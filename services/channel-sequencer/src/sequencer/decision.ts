import type { ChannelChange } from "./store.js";

/** What the sequencer decided about one submission, before anything is stored. */
export type Decision =
  | {
      readonly kind: "accept";
      readonly change: ChannelChange;
      /** The `mimi:reason` of the Reject when the store refuses the change (another commit won). */
      readonly conflictReason?: string;
    }
  /** `reason`: the machine-readable `mimi:reason` the Reject carries, for the kinds that have one. */
  | { readonly kind: "reject"; readonly summary: string; readonly reason?: string }
  /** Nobody can be answered (no such channel): the record is dropped with a log line. */
  | { readonly kind: "drop"; readonly reason: string };

/** A failure that may pass (issuers or WebFinger unreachable): the record is retried later. */
export class TransientFailure extends Error {}
