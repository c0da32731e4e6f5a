/**
 * The Kafka adapter's topics: creating them (with retries while a just-created topic propagates to the
 * broker) and remembering which exist, so a publish to a known topic needs no admin request.
 */
import type { Admin } from "kafkajs";
import { reasonFromError } from "./routing";

/**
 * Topics created (or being created) through one admin client. Concurrent callers share one creation
 * per topic; a failed creation is forgotten so the next call tries again.
 */
export class TopicProvisioner {
  private readonly provisioned = new Map<string, Promise<void>>();
  /** Topics whose creation has finished: publishing to them needs no wait. */
  private readonly created = new Set<string>();

  /** `create` makes the given topics exist (existing ones are left alone). */
  constructor(private readonly create: (topics: string[]) => Promise<void>) {}

  isCreated(topic: string): boolean {
    return this.created.has(topic);
  }

  /** Creates the topics not known yet; resolves once all of `topics` exist. */
  async ensure(topics: readonly string[]): Promise<void> {
    const missing = [...new Set(topics)].filter((topic) => !this.provisioned.has(topic));
    if (missing.length > 0) {
      const creation = this.create(missing);
      for (const topic of missing) this.provisioned.set(topic, creation);
      creation.then(
        () => {
          for (const topic of missing) {
            if (this.provisioned.get(topic) === creation) this.created.add(topic);
          }
        },
        // A failed creation is forgotten so the next call tries again.
        () => {
          for (const topic of missing) {
            if (this.provisioned.get(topic) === creation) this.provisioned.delete(topic);
          }
        },
      );
    }
    await Promise.all(topics.map((topic) => this.provisioned.get(topic)));
  }
}

/** Metadata errors a KRaft broker answers while a just-created topic propagates to it. */
const PROPAGATING_TOPIC_ERRORS = new Set([
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
  "NOT_LEADER_OR_FOLLOWER",
]);

/**
 * Whether `error` (or the error a kafkajs retry gave up on) is a topic still propagating. kafkajs's own
 * `waitForLeaders` retries only LEADER_NOT_AVAILABLE, so right after creation a KRaft broker's
 * UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this topic-partition") escapes it.
 */
export function isTopicPropagationError(error: unknown): boolean {
  for (let current = error, depth = 0; depth < 4; depth++) {
    if (typeof current !== "object" || current === null) return false;
    const { type, cause } = current as { type?: unknown; cause?: unknown };
    if (typeof type === "string" && PROPAGATING_TOPIC_ERRORS.has(type)) return true;
    current = cause;
  }
  return false;
}

function isRetriable(error: unknown): boolean {
  if (isTopicPropagationError(error)) return true;
  return typeof error === "object" && error !== null && (error as { retriable?: unknown }).retriable === true;
}

/** Pause before the `attempt`-th retry: 100 ms, 200 ms, 400 ms, ... capped at 2 s. */
export function backoffMs(attempt: number): number {
  return Math.min(2_000, 100 * 2 ** (attempt - 1));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates topics (existing ones are left alone), then polls metadata until every partition of every
 * topic has a leader. Creation does not wait for leaders itself (see `isTopicPropagationError`); the
 * poll retries the propagation errors until `deadlineMs` has passed.
 */
export async function createTopicsWithRetry(
  admin: Admin,
  topics: readonly string[],
  partitionCount: number,
  replicationFactor: number,
  deadlineMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: topics.map((topic) => ({ topic, numPartitions: partitionCount, replicationFactor })),
      });
      break;
    } catch (error) {
      if (Date.now() >= deadline || !isRetriable(error)) throw error;
      await sleep(backoffMs(attempt));
    }
  }
  for (let attempt = 1; ; attempt++) {
    let waitingFor: string;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = leaderlessPartitions(topics, metadata.topics);
      if (leaderless.length === 0) return;
      waitingFor = `partitions without a leader: ${leaderless.join(", ")}`;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      waitingFor = reasonFromError(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`topics ${topics.join(", ")} not ready within ${deadlineMs} ms (${waitingFor})`);
    }
    await sleep(backoffMs(attempt));
  }
}

/** `topic/partition` names of the partitions that have no leader yet (or are not listed at all). */
export function leaderlessPartitions(
  expected: readonly string[],
  metadata: readonly {
    name: string;
    partitions: readonly { partitionId: number; leader: number; partitionErrorCode?: number }[];
  }[],
): string[] {
  const missing: string[] = [];
  for (const topic of expected) {
    const found = metadata.find((entry) => entry.name === topic);
    if (!found || found.partitions.length === 0) {
      missing.push(`${topic}/*`);
      continue;
    }
    for (const partition of found.partitions) {
      if (partition.leader < 0 || (partition.partitionErrorCode ?? 0) !== 0) {
        missing.push(`${topic}/${partition.partitionId}`);
      }
    }
  }
  return missing;
}
