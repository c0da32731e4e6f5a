/**
 * An in-memory partitioned log with Kafka's consumer-group semantics, for the standalone single-process
 * mode and tests. Records are kept for the life of the bus (no retention); new groups start at the
 * earliest offset, as a Kafka consumer with `fromBeginning: true` does.
 */
import {
  asError,
  ConsumerSupervision,
  restartPolicyWith,
  type SupervisionOptions,
  unusableAnswerError,
} from "./consumer-supervision";
import { isHandlerAnswer, settledOutcome } from "./handler-answers";
import { partitionForKey } from "./partitioner";
import {
  DEFAULT_RETRY_POLICY,
  handledRecordOf,
  planOutcome,
  readiness,
  reasonFromError,
  type SourceTopic,
  sourceTopicsFor,
  topicsToProvision,
  validateRetryPolicy,
} from "./routing";
import { SettlementWindow, type WindowEntry } from "./settlement-window";
import { handleInSpan, withTraceContext } from "./trace";
import type {
  BusMessage,
  BusRecord,
  ConsumerStatus,
  HandlerOutcome,
  MonitoredBus,
  PendingOutcome,
  RecordHandler,
  RetryPolicy,
  SubscribeOptions,
  Subscription,
} from "./types";

export interface InProcessBusOptions extends SupervisionOptions {
  /** Partitions per topic (default 4). */
  partitions?: number;
  /** Retry delays used when a subscription gives none (default 1 s, 10 s, 60 s). */
  retryDelaysMs?: number[];
  /** Clock, for tests that need to control "now" for retry delays (default `Date.now`). */
  now?: () => number;
  /** Records of one partition whose handler answered `pending` and whose outcome is not final (default 64). */
  maxPendingPerPartition?: number;
}

interface StoredRecord {
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

interface Member {
  id: number;
  groupId: string;
  sources: Map<string, SourceTopic>;
  handle: RecordHandler;
  policy: RetryPolicy;
  stopping: boolean;
  inFlight: Set<Promise<void>>;
  /** An error escaped this member's record handling (see `ConsumerRestartPolicy`). */
  crashed: (error: unknown) => void;
}

/** A subscription: the member currently standing for it, and how it restarts after a crash. */
interface SupervisedSubscription {
  member: Member;
  supervision: ConsumerSupervision;
  restartTimer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/** A group's position in one partition, and who currently owns that partition. */
interface Cursor {
  topic: string;
  partition: number;
  /** Where a new owner starts: every record below is settled (committed). */
  committed: number;
  /** A handler call is running: the next record waits for it (pending records do not). */
  busy: boolean;
  /**
   * Records handed out and not committed (offsets `committed` up to the next one to hand out, which is
   * `committed + window.size`), and the member they were handed to.
   */
  window: SettlementWindow;
  handledBy: Member | undefined;
  owner: Member | undefined;
  wakeTimer: NodeJS.Timeout | undefined;
}

interface Group {
  id: string;
  members: Member[];
  cursors: Map<string, Cursor>;
}

export function createInProcessBus(options: InProcessBusOptions = {}): MonitoredBus {
  const partitionCount = options.partitions ?? 4;
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitionCount}`);
  }
  const defaultPolicy: RetryPolicy = options.retryDelaysMs
    ? { delaysMs: [...options.retryDelaysMs] }
    : DEFAULT_RETRY_POLICY;
  const now = options.now ?? Date.now;
  const maxPending = Math.max(1, options.maxPendingPerPartition ?? 64);
  const restartPolicy = restartPolicyWith(options.restart);
  const onConsumerEvent = options.onConsumerEvent ?? (() => undefined);

  const logs = new Map<string, StoredRecord[][]>();
  const groups = new Map<string, Group>();
  const subscriptions = new Set<SupervisedSubscription>();
  let nextMemberId = 1;
  let closed = false;

  function logOf(topic: string): StoredRecord[][] {
    let log = logs.get(topic);
    if (!log) {
      log = Array.from({ length: partitionCount }, () => []);
      logs.set(topic, log);
    }
    return log;
  }

  function append(topic: string, messages: readonly BusMessage[]): void {
    const log = logOf(topic);
    const touched = new Set<number>();
    for (const message of messages) {
      const partition = partitionForKey(message.key, partitionCount);
      // Copies keep the log immune to callers reusing their buffers or header objects.
      log[partition]!.push({
        key: message.key,
        value: new Uint8Array(message.value),
        headers: { ...(message.headers ?? {}) },
      });
      touched.add(partition);
    }
    for (const group of groups.values()) {
      for (const partition of touched) {
        const cursor = group.cursors.get(cursorKey(topic, partition));
        if (cursor) scheduleDispatch(group, cursor);
      }
    }
  }

  function scheduleDispatch(group: Group, cursor: Cursor): void {
    // Handlers never run inside the caller's publish() or stop(): they start on a later microtask.
    queueMicrotask(() => dispatch(group, cursor));
  }

  function dispatch(group: Group, cursor: Cursor): void {
    const log = logOf(cursor.topic)[cursor.partition]!;
    while (!closed && !cursor.busy && cursor.owner && !cursor.owner.stopping) {
      const member = cursor.owner;
      if (cursor.window.size === 0) {
        cursor.handledBy = undefined;
      } else if (cursor.handledBy !== member) {
        // The partition moved while its previous owner's records were pending: they settle first.
        return;
      }
      // Woken again when one settles.
      if (cursor.window.pending >= maxPending) return;
      const next = cursor.committed + cursor.window.size;
      const stored = log[next];
      if (!stored) return;
      const source = member.sources.get(cursor.topic);
      if (!source) return;
      const ready = readiness(source, stored.headers, group.id, now());
      if (ready.kind === "skip") {
        cursor.handledBy = member;
        cursor.window.add(String(next), true);
        commitSettledPrefix(cursor);
        continue;
      }
      if (ready.kind === "wait") {
        if (!cursor.wakeTimer) {
          cursor.wakeTimer = setTimeout(
            () => {
              cursor.wakeTimer = undefined;
              dispatch(group, cursor);
            },
            Math.max(0, ready.dueAtMs - now()),
          );
        }
        return;
      }
      const record: BusRecord = {
        topic: source.logicalTopic,
        sourceTopic: cursor.topic,
        key: stored.key,
        value: new Uint8Array(stored.value),
        headers: { ...stored.headers },
        partition: cursor.partition,
        offset: String(next),
        attempt: ready.attempt,
      };
      const entry = cursor.window.add(record.offset, false);
      cursor.handledBy = member;
      cursor.busy = true;
      const run = handle(group, member, cursor, record, entry)
        .catch((error: unknown) => member.crashed(error))
        .finally(() => {
          cursor.busy = false;
          member.inFlight.delete(run);
          scheduleDispatch(group, cursor);
        });
      member.inFlight.add(run);
      return;
    }
  }

  async function handle(group: Group, member: Member, cursor: Cursor, record: BusRecord, entry: WindowEntry) {
    let answer: HandlerOutcome | PendingOutcome;
    try {
      answer = await handleInSpan(record, member.groupId, () => member.handle(record));
    } catch (error) {
      answer = { kind: "retry", reason: reasonFromError(error) };
    }
    if (!isHandlerAnswer(answer)) throw unusableAnswerError(member.groupId, answer);
    if (answer.kind !== "pending") {
      settle(member, cursor, record, entry, answer);
      return;
    }
    // Not awaited by a stop: a record that settles after its member stopped stays uncommitted.
    void settledOutcome(answer)
      .then((outcome) => settle(member, cursor, record, entry, outcome))
      .catch((error: unknown) => member.crashed(error))
      .finally(() => scheduleDispatch(group, cursor));
  }

  function settle(
    member: Member,
    cursor: Cursor,
    record: BusRecord,
    entry: WindowEntry,
    outcome: HandlerOutcome,
  ): void {
    // A member that is stopping leaves its unsettled records uncommitted: the next owner handles them again.
    if (member.stopping || closed) return;
    const plan = planOutcome(handledRecordOf(record), outcome, member.groupId, member.policy, now());
    if (plan.kind === "forward") append(plan.topic, [plan.message]);
    cursor.window.settle(entry);
    commitSettledPrefix(cursor);
  }

  function commitSettledPrefix(cursor: Cursor): void {
    const last = cursor.window.takeSettledPrefix();
    if (last !== undefined) cursor.committed = Number(last) + 1;
  }

  /** Spreads each topic's partitions over the group's live members that read that topic. */
  function rebalance(group: Group): void {
    const live = group.members.filter((member) => !member.stopping);
    for (const cursor of group.cursors.values()) {
      const readers = live.filter((member) => member.sources.has(cursor.topic));
      const owner = readers.length > 0 ? readers[cursor.partition % readers.length] : undefined;
      if (owner !== cursor.owner) {
        cursor.owner = owner;
        if (cursor.wakeTimer) {
          clearTimeout(cursor.wakeTimer);
          cursor.wakeTimer = undefined;
        }
      }
      scheduleDispatch(group, cursor);
    }
  }

  const memberStops = new WeakMap<Member, Promise<void>>();

  /** Idempotent: every caller waits for the same stop. */
  function stopMember(member: Member): Promise<void> {
    let stopping = memberStops.get(member);
    if (!stopping) {
      stopping = leaveGroup(member);
      memberStops.set(member, stopping);
    }
    return stopping;
  }

  async function leaveGroup(member: Member): Promise<void> {
    member.stopping = true;
    const group = groups.get(member.groupId);
    await Promise.allSettled([...member.inFlight]);
    if (!group) return;
    for (const cursor of group.cursors.values()) {
      if (cursor.handledBy !== member) continue;
      // What it left unsettled is handled again by the next owner, from the committed offset.
      cursor.window.clear();
      cursor.handledBy = undefined;
    }
    group.members = group.members.filter((candidate) => candidate !== member);
    rebalance(group);
  }

  return {
    async publish(topic, messages) {
      if (closed) throw new Error("bus is closed");
      append(topic, withTraceContext(messages));
    },

    async subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
      if (closed) throw new Error("bus is closed");
      const policy = subscribeOptions.retry ?? defaultPolicy;
      const valid = validateRetryPolicy(policy);
      if (!valid.ok) throw new RangeError(valid.reason);
      const sources = new Map(
        sourceTopicsFor(subscribeOptions.topics, policy).map((source) => [source.name, source]),
      );
      for (const topic of topicsToProvision(subscribeOptions.topics, policy)) logOf(topic);

      const group = groups.get(subscribeOptions.groupId) ?? {
        id: subscribeOptions.groupId,
        members: [],
        cursors: new Map<string, Cursor>(),
      };
      groups.set(group.id, group);
      for (const topic of sources.keys()) {
        for (let partition = 0; partition < partitionCount; partition++) {
          const key = cursorKey(topic, partition);
          if (!group.cursors.has(key)) {
            group.cursors.set(key, {
              topic,
              partition,
              committed: 0,
              busy: false,
              window: new SettlementWindow(),
              handledBy: undefined,
              owner: undefined,
              wakeTimer: undefined,
            });
          }
        }
      }
      const joinGroup = (): Member => {
        const member: Member = {
          id: nextMemberId++,
          groupId: group.id,
          sources,
          handle: subscribeOptions.handle,
          policy,
          stopping: false,
          inFlight: new Set(),
          crashed: (error) => crashed(member, error),
        };
        group.members.push(member);
        rebalance(group);
        return member;
      };
      // The member's `crashed` reaches `subscription` only later, from a handler's continuation.
      const subscription: SupervisedSubscription = {
        member: joinGroup(),
        supervision: new ConsumerSupervision(
          subscribeOptions.groupId,
          [...subscribeOptions.topics],
          restartPolicy,
          onConsumerEvent,
        ),
        restartTimer: undefined,
        stopped: false,
      };
      subscriptions.add(subscription);

      /**
       * The member leaves its group (what it left unsettled goes to the next owner), and a new one
       * joins after the policy's delay, unless the consumer gave up.
       */
      function crashed(member: Member, error: unknown): void {
        if (member.stopping || closed || subscription.member !== member) return;
        const decision = subscription.supervision.crashed(asError(error));
        void stopMember(member);
        if (decision.kind === "giveUp") return;
        subscription.restartTimer = setTimeout(() => {
          subscription.restartTimer = undefined;
          if (subscription.stopped || closed) return;
          subscription.member = joinGroup();
          subscription.supervision.started();
        }, decision.delayMs);
      }

      return {
        stop: () => {
          subscription.stopped = true;
          clearTimeout(subscription.restartTimer);
          subscriptions.delete(subscription);
          return stopMember(subscription.member);
        },
      };
    },

    consumers(): ConsumerStatus[] {
      return [...subscriptions].map((subscription) => subscription.supervision.status());
    },

    async close() {
      if (closed) return;
      for (const subscription of subscriptions) {
        subscription.stopped = true;
        clearTimeout(subscription.restartTimer);
      }
      subscriptions.clear();
      const members = [...groups.values()].flatMap((group) => group.members);
      await Promise.all(members.map(stopMember));
      closed = true;
      for (const group of groups.values()) {
        for (const cursor of group.cursors.values()) {
          if (cursor.wakeTimer) clearTimeout(cursor.wakeTimer);
          cursor.wakeTimer = undefined;
        }
      }
    },
  };
}

function cursorKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}
