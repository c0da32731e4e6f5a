/** Headers delivery-fanout puts on the messages it schedules for later (beside the bus's own). */
export const DeliveryHeaders = {
  /** On `delivery.jobs`: which attempt this message is (1 when absent). */
  attempt: "delivery-attempt",
  /** On `delivery.requests` re-published for actors that could not be resolved yet. */
  expansionAttempt: "delivery-expansion-attempt",
  /**
   * On `delivery.jobs`: not a job to send but the release of a held pair (the job's signer and its
   * inbox's origin): its stored backlog is due. The payload is the pair's oldest stored job.
   */
  release: "delivery-release",
} as const;

/** The consumer group of the send worker (also named on the retry and dead copies it forwards). */
export const SEND_GROUP = "delivery-fanout.send";

export function attemptFrom(headers: Readonly<Record<string, string>>, name: string): number {
  const value = Number(headers[name]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}
