/**
 * The restart rules for a crashed consumer, shared by both adapters: how long to wait before the next
 * start, when to give up, and what health the consumers amount to. No I/O: the adapters start and stop
 * their consumers and tell a {@link ConsumerSupervision} what happened.
 */
import { inspect } from "node:util";
import type { ComponentHealth } from "@mimi/service-kit";
import type { ConsumerEvent, ConsumerRestartPolicy, ConsumerState, ConsumerStatus } from "./types";

export const DEFAULT_RESTART_POLICY: ConsumerRestartPolicy = {
  maxRestarts: 10,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
};

/** The default policy with `overrides` applied; throws a RangeError naming a value that makes no sense. */
export function restartPolicyWith(overrides: Partial<ConsumerRestartPolicy> = {}): ConsumerRestartPolicy {
  const policy = { ...DEFAULT_RESTART_POLICY, ...overrides };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`restart policy ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (policy.maxDelayMs < policy.initialDelayMs) {
    throw new RangeError(
      `restart policy maxDelayMs (${policy.maxDelayMs}) is below initialDelayMs (${policy.initialDelayMs})`,
    );
  }
  return policy;
}

/** Delay before the restart after the `crashes`-th crash in a row: doubling from the first delay, capped. */
export function restartDelayMs(policy: ConsumerRestartPolicy, crashes: number): number {
  const doublings = Math.min(Math.max(0, crashes - 1), 30);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** doublings);
}

export type CrashDecision = { kind: "restart"; delayMs: number } | { kind: "giveUp" };

/** One subscription's consumer: its state, its crashes in a row, and the events they make. */
export class ConsumerSupervision {
  private current: ConsumerState = { kind: "running" };
  private crashesInRow = 0;
  private startedAtMs: number;

  constructor(
    private readonly groupId: string,
    private readonly topics: readonly string[],
    private readonly policy: ConsumerRestartPolicy,
    private readonly onEvent: (event: ConsumerEvent) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAtMs = now();
  }

  get state(): ConsumerState {
    return this.current;
  }

  status(): ConsumerStatus {
    return { groupId: this.groupId, topics: this.topics, state: this.current };
  }

  /** The consumer (re)joined its group and consumes. A consumer that gave up stays failed. */
  started(): void {
    if (this.current.kind === "failed") return;
    this.startedAtMs = this.now();
    if (this.current.kind === "running") return;
    const crashes = this.crashesInRow;
    this.current = { kind: "running" };
    this.onEvent({ kind: "restarted", groupId: this.groupId, topics: this.topics, crashes });
  }

  /** The consumer crashed (or a start of it failed): restart after the returned delay, or give up. */
  crashed(error: Error): CrashDecision {
    if (this.current.kind === "failed") return { kind: "giveUp" };
    if (this.current.kind === "running" && this.now() - this.startedAtMs >= this.policy.resetAfterMs) {
      this.crashesInRow = 0;
    }
    this.crashesInRow += 1;
    const crashes = this.crashesInRow;
    const reason = describeError(error);
    const base = { groupId: this.groupId, topics: this.topics, error, crashes };
    if (crashes > this.policy.maxRestarts) {
      this.current = { kind: "failed", crashes, error: reason };
      this.onEvent({ kind: "gaveUp", ...base });
      return { kind: "giveUp" };
    }
    const delayMs = restartDelayMs(this.policy, crashes);
    this.current = { kind: "restarting", crashes, error: reason };
    this.onEvent({ kind: "crashed", ...base, restartInMs: delayMs });
    return { kind: "restart", delayMs };
  }
}

/** A crash as an Error, whatever was thrown. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

function describeError(error: Error): string {
  return `${error.name}: ${error.message}`;
}

/**
 * The bus's health from its consumers' states: `failed` when any gave up (only a restart of the
 * process brings it back), `recovering` while any restarts, else `up`. The detail names each such
 * consumer's group and topics.
 */
export function consumersHealth(consumers: readonly ConsumerStatus[]): ComponentHealth {
  const failed = consumers.filter((consumer) => consumer.state.kind === "failed");
  const restarting = consumers.filter((consumer) => consumer.state.kind === "restarting");
  if (failed.length === 0 && restarting.length === 0) return { status: "up" };
  const detail = [...failed, ...restarting].map(describeConsumer).join("; ");
  return failed.length > 0 ? { status: "failed", detail } : { status: "recovering", detail };
}

function describeConsumer(consumer: ConsumerStatus): string {
  const name = `consumer group ${consumer.groupId} (${consumer.topics.join(", ")})`;
  const { state } = consumer;
  if (state.kind === "failed")
    return `${name} gave up after ${state.crashes} crashes in a row: ${state.error}`;
  if (state.kind === "restarting") {
    return `${name} restarting after ${state.crashes} crash${state.crashes === 1 ? "" : "es"} in a row: ${state.error}`;
  }
  return `${name} running`;
}

/** The adapters' common options for consumer supervision. */
export interface SupervisionOptions {
  /** How crashed consumers restart (defaults: {@link DEFAULT_RESTART_POLICY}). */
  restart?: Partial<ConsumerRestartPolicy>;
  /** Told when a consumer crashes, restarts or gives up (for logs and metrics). */
  onConsumerEvent?: (event: ConsumerEvent) => void;
}

/** The error a handler's unusable answer becomes: a crash of its member (see {@link ConsumerRestartPolicy}). */
export function unusableAnswerError(groupId: string, answer: unknown): TypeError {
  const shown = inspect(answer, { depth: 2, breakLength: Number.POSITIVE_INFINITY }).slice(0, 200);
  return new TypeError(`the handler of consumer group ${groupId} answered ${shown}, which is not an outcome`);
}
