/**
 * What a fault run measured, computed from what the clients sent and showed: pure, no I/O. A delivery
 * is one (message, receiver) pair that the receiver should have shown; a flow is one (channel, sender,
 * receiver) triple.
 */

/** A message the home server took (answered 202). */
export interface SentMessage {
  activityId: string;
  channel: string;
  sender: string;
  /** Counts up per sender and channel, in sending order. */
  seq: number;
  /** When the server answered (ms since the epoch). */
  sentAt: number;
  /** The sender's epoch when it encrypted the message. */
  epoch: number;
}

/** What one receiver shows of one channel at the end of the run. */
export interface ReceiverView {
  user: string;
  channel: string;
  /** The first epoch it can read (0 for a member from the channel's first epoch on). */
  fromEpoch: number;
  /** When it became a member (0 for a member from the start): only later faults wait for its flows. */
  since: number;
  /** The messages it shows, in the order shown (one entry per line shown). */
  shown: readonly { activityId: string; receivedAt: number }[];
  /** Activity ids that reached its mailbox. */
  inMailbox: ReadonlySet<string>;
  /** Activity ids the client skipped, with the reason it gave. */
  skipped: ReadonlyMap<string, string>;
}

/** One step of the run: a fault, from its injection until the next step. */
export interface PhaseWindow {
  name: string;
  startedAt: number;
  /** When the faulty part was back (ready again); absent for a phase without a fault. */
  backAt?: number;
  endedAt: number;
}

export interface PhaseReport {
  name: string;
  /** Whether the phase injected a fault (and so has a recovery time). */
  fault: boolean;
  /** Messages sent (answered 202) during the phase. */
  sent: number;
  /** Deliveries those messages owed: one per receiver that should show it. */
  expected: number;
  delivered: number;
  /** Neither shown nor in the receiver's mailbox. */
  lost: number;
  /** Shown more than once. */
  duplicated: number;
  /** Shown after a later message of the same sender. */
  reordered: number;
  /** Reached the receiver (skipped by the client, or in its mailbox) but never shown. */
  undecryptable: number;
  /** Sends the home server refused or that failed during the phase. */
  refused: number;
  /** From `backAt` until every flow showed a message sent after it; null: not within the phase. */
  recoveryMs: number | null;
  /** The flow that recovered last (`<channel> <sender> -> <receiver>`). */
  slowestFlow?: string;
  /** The fault's own remarks (how long it was down, what failed). */
  notes: string[];
  /** Up to three examples of each kind of trouble (refused, lost, undecryptable, ...), for the report. */
  examples: string[];
}

/** Whether `receiver` owes a delivery of `message`. */
function owes(view: ReceiverView, message: SentMessage): boolean {
  return view.channel === message.channel && view.user !== message.sender && message.epoch >= view.fromEpoch;
}

const phaseOf = (phases: readonly PhaseWindow[], at: number): PhaseWindow | undefined =>
  phases.find((phase) => at >= phase.startedAt && at < phase.endedAt);

/**
 * The time every flow showed a message sent at or after `backAt` (and before `until`), or null when
 * some flow has not yet. A flow counts when its receiver was a member by `backAt` and owes it anything:
 * a sender that can send nothing after the fault keeps its flows unrecovered.
 */
export function recoveredAt(
  backAt: number,
  until: number,
  sent: readonly SentMessage[],
  views: readonly ReceiverView[],
): number | null {
  return recovery(backAt, until, sent, views)?.at ?? null;
}

/** As `recoveredAt`, with the flow that recovered last (`<channel> <sender> -> <receiver>`). */
export function recovery(
  backAt: number,
  until: number,
  sent: readonly SentMessage[],
  views: readonly ReceiverView[],
): { at: number; slowestFlow: string } | null {
  const firstShown = new Map<string, number>();
  for (const view of views) {
    if (view.since > backAt) continue;
    const shownAt = new Map(view.shown.map((line) => [line.activityId, line.receivedAt]));
    const senders = new Set(sent.filter((message) => owes(view, message)).map((message) => message.sender));
    for (const sender of senders) {
      const flow = `${view.channel} ${sender} -> ${view.user}`;
      let earliest = Number.POSITIVE_INFINITY;
      for (const message of sent) {
        if (message.sender !== sender || !owes(view, message)) continue;
        if (message.sentAt < backAt || message.sentAt >= until) continue;
        const at = shownAt.get(message.activityId);
        if (at !== undefined) earliest = Math.min(earliest, at);
      }
      firstShown.set(flow, earliest);
    }
  }
  let slowest: [string, number] | undefined;
  for (const entry of firstShown) if (!slowest || entry[1] > slowest[1]) slowest = entry;
  if (!slowest || !Number.isFinite(slowest[1])) return null;
  return { at: Math.max(slowest[1], backAt), slowestFlow: slowest[0] };
}

/** Per phase: what was sent in it and what became of every delivery it owed. */
export function accountPhases(input: {
  phases: readonly PhaseWindow[];
  sent: readonly SentMessage[];
  refusals: readonly { at: number; detail: string }[];
  views: readonly ReceiverView[];
  notes?: ReadonlyMap<string, readonly string[]>;
}): PhaseReport[] {
  const reports = new Map<string, PhaseReport>(
    input.phases.map((phase) => [
      phase.name,
      {
        name: phase.name,
        fault: phase.backAt !== undefined,
        sent: 0,
        expected: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        reordered: 0,
        undecryptable: 0,
        refused: 0,
        recoveryMs: null,
        notes: [...(input.notes?.get(phase.name) ?? [])],
        examples: [],
      },
    ]),
  );
  const reportAt = (at: number) => {
    const phase = phaseOf(input.phases, at);
    return phase ? reports.get(phase.name) : undefined;
  };
  // A few examples of each kind (refused, lost, duplicated, ...), so one kind does not hide the others.
  const example = (report: PhaseReport, text: string) => {
    const kind = text.split(":", 1)[0];
    if (report.examples.filter((line) => line.startsWith(`${kind}:`)).length < 3) report.examples.push(text);
  };
  for (const message of input.sent) {
    const report = reportAt(message.sentAt);
    if (report) report.sent += 1;
  }
  for (const refusal of input.refusals) {
    const report = reportAt(refusal.at);
    if (!report) continue;
    report.refused += 1;
    example(report, `refused: ${refusal.detail}`);
  }
  const bySeq = new Map(input.sent.map((message) => [message.activityId, message]));
  for (const view of input.views) {
    const shownCount = new Map<string, number>();
    for (const line of view.shown)
      shownCount.set(line.activityId, (shownCount.get(line.activityId) ?? 0) + 1);
    // Reordering: a message shown after a later one of the same sender (first showings only).
    const highestShown = new Map<string, number>();
    const reorderedIds = new Set<string>();
    const firstShowings = new Set<string>();
    for (const line of view.shown) {
      if (firstShowings.has(line.activityId)) continue;
      firstShowings.add(line.activityId);
      const message = bySeq.get(line.activityId);
      if (!message || !owes(view, message)) continue;
      const highest = highestShown.get(message.sender) ?? -1;
      if (message.seq < highest) reorderedIds.add(message.activityId);
      highestShown.set(message.sender, Math.max(highest, message.seq));
    }
    for (const message of input.sent) {
      if (!owes(view, message)) continue;
      const report = reportAt(message.sentAt);
      if (!report) continue;
      report.expected += 1;
      const shown = shownCount.get(message.activityId) ?? 0;
      const what = `${message.sender} #${message.seq} -> ${view.user}`;
      if (shown > 0) {
        report.delivered += 1;
        if (shown > 1) {
          report.duplicated += 1;
          example(report, `duplicated (${shown}x): ${what}`);
        }
        if (reorderedIds.has(message.activityId)) {
          report.reordered += 1;
          example(report, `reordered: ${what}`);
        }
        continue;
      }
      const skipped = view.skipped.get(message.activityId);
      if (skipped !== undefined || view.inMailbox.has(message.activityId)) {
        report.undecryptable += 1;
        example(report, `undecryptable: ${what}: ${skipped ?? "in the mailbox, never shown"}`);
      } else {
        report.lost += 1;
        example(report, `lost: ${what}`);
      }
    }
  }
  for (const phase of input.phases) {
    const report = reports.get(phase.name);
    if (!report || phase.backAt === undefined) continue;
    const recovered = recovery(phase.backAt, phase.endedAt, input.sent, input.views);
    report.recoveryMs = recovered === null ? null : recovered.at - phase.backAt;
    if (recovered) report.slowestFlow = recovered.slowestFlow;
  }
  return input.phases.map((phase) => reports.get(phase.name) as PhaseReport);
}

/** What the short run must show: nothing lost, duplicated or undecryptable, recovery within a minute. */
export interface FaultTargets {
  maxRecoveryMs: number;
}

export const SHORT_RUN_TARGETS: FaultTargets = { maxRecoveryMs: 60_000 };

/** The targets a phase missed, as readable lines (empty when it met them all). */
export function missedTargets(report: PhaseReport, targets: FaultTargets): string[] {
  const missed: string[] = [];
  if (report.lost > 0) missed.push(`${report.name}: ${report.lost} lost`);
  if (report.duplicated > 0) missed.push(`${report.name}: ${report.duplicated} duplicated`);
  if (report.undecryptable > 0) missed.push(`${report.name}: ${report.undecryptable} undecryptable`);
  if (report.sent === 0) missed.push(`${report.name}: no message was sent`);
  if (report.fault) {
    if (report.recoveryMs === null) missed.push(`${report.name}: did not recover`);
    else if (report.recoveryMs > targets.maxRecoveryMs)
      missed.push(`${report.name}: recovery ${(report.recoveryMs / 1000).toFixed(1)} s`);
  }
  return missed;
}

/** The report as an aligned text table, one row per phase. */
export function reportTable(reports: readonly PhaseReport[]): string {
  const header = [
    "fault",
    "sent",
    "expected",
    "delivered",
    "lost",
    "duplicated",
    "reordered",
    "undecryptable",
    "refused",
    "recovery",
  ];
  const rows = reports.map((report) => [
    report.name,
    String(report.sent),
    String(report.expected),
    String(report.delivered),
    String(report.lost),
    String(report.duplicated),
    String(report.reordered),
    String(report.undecryptable),
    String(report.refused),
    !report.fault
      ? "—"
      : report.recoveryMs === null
        ? "not recovered"
        : `${(report.recoveryMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
