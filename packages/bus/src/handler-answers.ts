/**
 * Handler answers as both adapters read them: building a pending one, its final outcome, and whether
 * an answer is one the bus can act on at all.
 */
import { reasonFromError } from "./routing";
import type { HandlerOutcome, PendingOutcome } from "./types";

/** A handler's answer whose rest runs in the background (see {@link PendingOutcome}). */
export function pendingOutcome(settled: Promise<HandlerOutcome>): PendingOutcome {
  return { kind: "pending", settled };
}

/**
 * The final outcome of a handler's answer as the bus decides it: the answer itself, or what a pending
 * one settles to, a rejection counting as `retry`. Never rejects.
 */
export function settledOutcome(answer: HandlerOutcome | PendingOutcome): Promise<HandlerOutcome> {
  if (answer.kind !== "pending") return Promise.resolve(answer);
  return answer.settled.catch(
    (error: unknown): HandlerOutcome => ({ kind: "retry", reason: reasonFromError(error) }),
  );
}

/** Whether a handler's answer is one the bus can act on (an outcome or a pending one). */
export function isHandlerAnswer(answer: unknown): answer is HandlerOutcome | PendingOutcome {
  if (typeof answer !== "object" || answer === null) return false;
  const { kind } = answer as { kind?: unknown };
  if (kind === "ok") return true;
  if (kind === "drop" || kind === "dlq" || kind === "retry") {
    return typeof (answer as { reason?: unknown }).reason === "string";
  }
  return kind === "pending" && (answer as { settled?: unknown }).settled instanceof Promise;
}
