import { decodePublicGroupState, type PublicGroupState } from "@mimi/mls";
import { BoundedCache } from "@mimi/service-kit";
import { SQL_UNIQUE_VIOLATION, type Sql, type SqlExecutor, sqlErrorCode } from "@mimi/store";
import type { DeliveryRequest } from "@mimi/topics";
import type { RemovedMember } from "../domain/access.js";
import type { ChannelSummary, LogEntry } from "../domain/documents.js";
import {
  type AssignableRole,
  type ChannelAction,
  checkPermission,
  type ElevatedRole,
  type RoleTable,
  roleTableOf,
} from "../domain/roles.js";
import { type ChannelMember, followersOf } from "../domain/rules.js";
import { channelFollowers, isChannelFollower } from "../reads.js";
import { completeDeparture, recordDeparture } from "./departures.js";

export interface StoredChannel extends ChannelSummary {
  /** The channel's MLS public group state (decoded). */
  readonly publicState: PublicGroupState;
  readonly lastSequence: number;
  readonly members: readonly ChannelMember[];
  /** Leaves of members who left and whose Remove no member has committed yet (not followers). */
  readonly departed: readonly ChannelMember[];
}

/** What handling one submission starts from, read in one query. */
export interface SubmissionBasis {
  /** The answer already recorded for this activity (a redelivery), if any. */
  readonly prior: ProcessedActivity | undefined;
  readonly channel: StoredChannel | undefined;
}

/**
 * The role rule a change was decided under. Roles do not move with the epoch, so the transaction
 * checks it again against the roles as they are once it holds the channel row.
 */
export interface PermissionCheck {
  readonly submitter: string;
  readonly action: ChannelAction;
}

/** A state change the sequencer decided to accept; applied atomically with the log entry. */
export type ChannelChange =
  | {
      readonly kind: "create";
      readonly name: string;
      readonly attributedTo: string;
      readonly ciphersuite: string;
      readonly publicState: Uint8Array;
      readonly groupInfo: Uint8Array;
      readonly members: ChannelMember[];
    }
  | {
      readonly kind: "commit";
      /** The epoch the commit was verified against: the update only matches while the channel is there. */
      readonly expectedEpoch: number;
      readonly newEpoch: number;
      readonly publicState: Uint8Array;
      readonly groupInfo: Uint8Array;
      readonly members: ChannelMember[];
      readonly permission: PermissionCheck;
      /** Actors who are followers before the commit and not after it. */
      readonly removedActors: readonly string[];
      readonly removedAt: Date;
      /** Removals recorded before this are pruned: their grace period is over. */
      readonly forgetRemovalsBefore: Date;
      /** The commit removes the leaves of this actor, who left: their departure is complete. */
      readonly completesDeparture?: string;
    }
  | {
      /** A member leaves: their leaves move to the departures, they stop being a follower. */
      readonly kind: "leave";
      readonly submitter: string;
      readonly departedAt: Date;
      /** The member's account is gone: a last owner goes too, and the role passes on (`ownerSuccessor`). */
      readonly accountDeleted?: boolean;
    }
  | {
      readonly kind: "message";
      readonly submitter: string;
      /** The channel's epoch must still be within [messageEpoch, messageEpoch + window]. */
      readonly messageEpoch: number;
      readonly window: number;
    }
  | {
      readonly kind: "rename";
      readonly submitter: string;
      readonly name: string;
      readonly permission: PermissionCheck;
    }
  | {
      readonly kind: "role";
      readonly member: string;
      readonly role: AssignableRole;
      readonly permission: PermissionCheck;
    };

export interface AcceptedState {
  readonly sequence: number;
  readonly epoch: number;
  /** Followers after the change. */
  readonly followers: string[];
}

export type AcceptOutcome =
  | { readonly kind: "accepted"; readonly state: AcceptedState; readonly deliveries: DeliveryRequest[] }
  /** The conditional update matched nothing: another commit won the epoch, or membership changed. */
  | { readonly kind: "conflict"; readonly detail: string }
  /** Another handler recorded this activity first. */
  | { readonly kind: "duplicate" };

export interface ProcessedActivity {
  readonly outcome: "accepted" | "rejected";
  readonly deliveries: DeliveryRequest[];
  readonly published: boolean;
}

export interface ChannelStore {
  channel(channelId: string): Promise<ChannelSummary | undefined>;
  /** The channel with its MLS public state and members (for verifying a submission). */
  channelState(channelId: string): Promise<StoredChannel | undefined>;
  /** The recorded answer to `activityId` and the channel's current state, in one round trip. */
  submissionBasis(channelId: string, activityId: string): Promise<SubmissionBasis>;
  followers(channelId: string): Promise<string[] | undefined>;
  /** Every member with their role; undefined when there is no such channel. */
  roles(channelId: string): Promise<RoleTable | undefined>;
  /** The members with their roles and the actors removed at or after `removedSince`, in one query. */
  followersView(
    channelId: string,
    removedSince: Date,
  ): Promise<{ roles: RoleTable; removed: RemovedMember[] } | undefined>;
  isFollower(channelId: string, actorUrl: string): Promise<boolean>;
  groupInfo(channelId: string): Promise<{ epoch: number; groupInfo: Uint8Array } | undefined>;
  log(channelId: string, after: number, limit: number): Promise<LogEntry[]>;
  /** Local channels `actorUrl` follows. */
  channelsFollowedBy(actorUrl: string): Promise<ChannelSummary[]>;
  processed(channelId: string, activityId: string): Promise<ProcessedActivity | undefined>;
  /**
   * In one transaction: records the activity as processed, applies `change` (the epoch only by a
   * conditional update), appends the activity to the log with the next sequence number, and stores
   * the delivery requests `deliveriesFor` builds from the result. With `basis` (the channel as the
   * change was decided on) a message is first tried as one statement that only matches while the
   * channel's sequence number is still the basis's, i.e. nothing changed since it was read.
   */
  accept(input: {
    channelId: string;
    activityId: string;
    activity: Record<string, unknown>;
    change: ChannelChange;
    deliveriesFor: (state: AcceptedState) => DeliveryRequest[];
    basis?: StoredChannel;
  }): Promise<AcceptOutcome>;
  /** Records a rejection and its answer; false when the activity was already processed. */
  reject(input: { channelId: string; activityId: string; deliveries: DeliveryRequest[] }): Promise<boolean>;
  markPublished(channelId: string, activityId: string): Promise<void>;
}

/** Thrown inside the transaction to roll it back when a conditional update matched no row. */
class ConditionFailed extends Error {}

interface ChannelRow {
  id: string;
  name: string;
  attributed_to: string;
  ciphersuite: string;
  epoch: number;
  public_state: Uint8Array;
  group_info: Uint8Array;
  last_sequence: number;
}

/** One row of `submissionBasis`: the channel (null columns when none), its members and any prior answer. */
interface BasisRow {
  id: string | null;
  name: string;
  attributed_to: string;
  ciphersuite: string;
  epoch: number;
  last_sequence: number;
  /** Null when the caller already holds the state of this epoch. */
  public_state: Uint8Array | null;
  members: { leafIndex: number; actorUrl: string; acct: string }[] | null;
  departed: { leafIndex: number; actorUrl: string; acct: string }[] | null;
  outcome: "accepted" | "rejected" | null;
  deliveries: DeliveryRequest[] | null;
  published_at: Date | null;
}

/** A channel's public state and members at one epoch: only a commit changes them, and it moves the epoch. */
interface EpochState {
  readonly epoch: number;
  readonly publicState: PublicGroupState;
  readonly members: readonly ChannelMember[];
}

/** Channels whose decoded state is kept; the least recently used one goes first. */
const EPOCH_STATE_CACHE_SIZE = 1_000;

const BASIS_QUERY = `
  select c.id, c.name, c.attributed_to, c.ciphersuite, c.epoch, c.last_sequence,
    case when c.epoch = $3 then null else c.public_state end as public_state,
    case when c.epoch = $3 and not exists (select 1 from channels.departures d where d.channel_id = c.id)
      then null else (
      select coalesce(json_agg(json_build_object('leafIndex', m.leaf_index, 'actorUrl', m.actor_url, 'acct', m.acct)
        order by m.leaf_index), '[]'::json)
      from channels.members m where m.channel_id = c.id) end as members,
    (select coalesce(json_agg(json_build_object('leafIndex', d.leaf_index, 'actorUrl', d.actor_url, 'acct', d.acct)
        order by d.leaf_index), '[]'::json)
      from channels.departures d where d.channel_id = c.id) as departed,
    p.outcome, p.deliveries, p.published_at
  from (select $1::text as id) wanted
  left join channels.channels c on c.id = wanted.id
  left join channels.processed p on p.channel_id = wanted.id and p.activity_id = $2`;

/** A message accepted in one statement, only while the channel is as it was read (same sequence number). */
const ACCEPT_MESSAGE_AT_SEQUENCE = `
  with bumped as (
    update channels.channels set last_sequence = last_sequence + 1, updated_at = now()
    where id = $1 and last_sequence = $2 and epoch = $3
    returning last_sequence, epoch
  ), logged as (
    insert into channels.log (channel_id, sequence, epoch, activity_id, activity)
    select $1, last_sequence, epoch, $4, $5::jsonb from bumped
  )
  insert into channels.processed (channel_id, activity_id, outcome, deliveries)
  select $1, $4, 'accepted', $6::jsonb from bumped
  returning activity_id`;

/** The distinct follower actors and the stored roles of channel `c`. */
const ROLES_COLUMNS = `
  (select coalesce(json_agg(distinct m.actor_url), '[]'::json)
    from channels.members m where m.channel_id = c.id) as followers,
  (select coalesce(json_agg(json_build_array(r.actor_url, r.role)), '[]'::json)
    from channels.roles r where r.channel_id = c.id) as roles`;

/** Followers and roles of channel $1 (no row when there is no channel). */
const ROLES_QUERY = `select ${ROLES_COLUMNS} from channels.channels c where c.id = $1`;

/** As ROLES_QUERY, with the actors removed at or after $2. */
const FOLLOWERS_VIEW_QUERY = `
  select ${ROLES_COLUMNS},
    (select coalesce(json_agg(json_build_object('actorUrl', x.actor_url, 'removedAt', x.removed_at)), '[]'::json)
      from channels.removed_members x where x.channel_id = c.id and x.removed_at >= $2::timestamptz) as removed
  from channels.channels c where c.id = $1`;

interface RolesRow {
  followers: string[];
  roles: [string, ElevatedRole][];
}

const roleTableOfRow = (row: RolesRow): RoleTable =>
  roleTableOf([...row.followers].sort(), new Map(row.roles));

const summaryOf = (row: Pick<ChannelRow, "id" | "name" | "attributed_to" | "ciphersuite" | "epoch">) => ({
  id: row.id,
  name: row.name,
  attributedTo: row.attributed_to,
  ciphersuite: row.ciphersuite,
  epoch: Number(row.epoch),
});

export function createChannelStore(sql: Sql): ChannelStore {
  async function membersOf(db: SqlExecutor, channelId: string): Promise<ChannelMember[]> {
    const result = await db.query<{ leaf_index: number; actor_url: string; acct: string }>(
      "select leaf_index, actor_url, acct from channels.members where channel_id = $1 order by leaf_index",
      [channelId],
    );
    return result.rows.map((row) => ({ leafIndex: row.leaf_index, actorUrl: row.actor_url, acct: row.acct }));
  }

  /** One statement: upserts the leaves of `members` and deletes every other leaf of the channel. */
  async function replaceMembers(tx: SqlExecutor, channelId: string, members: readonly ChannelMember[]) {
    await tx.query(
      `with upserted as (
         insert into channels.members (channel_id, leaf_index, actor_url, acct)
         select $1::text, * from unnest($2::int[], $3::text[], $4::text[])
         on conflict (channel_id, leaf_index) do update set actor_url = excluded.actor_url, acct = excluded.acct
       )
       delete from channels.members where channel_id = $1 and not (leaf_index = any($2::int[]))`,
      [
        channelId,
        members.map((member) => member.leafIndex),
        members.map((member) => member.actorUrl),
        members.map((member) => member.acct),
      ],
    );
  }

  /**
   * After a commit: roles of actors who are no longer members go (a re-added member starts as a
   * `member`), the removed actors' removal time is recorded, and removals past their grace are pruned.
   */
  async function afterMembershipChange(
    tx: SqlExecutor,
    channelId: string,
    change: Extract<ChannelChange, { kind: "commit" }>,
  ) {
    const followers = followersOf(change.members);
    await tx.query("delete from channels.roles where channel_id = $1 and not (actor_url = any($2::text[]))", [
      channelId,
      followers,
    ]);
    if (change.removedActors.length > 0) {
      await tx.query(
        `insert into channels.removed_members (channel_id, actor_url, removed_at)
         select $1, actor_url, $3::timestamptz from unnest($2::text[]) as actor_url
         on conflict (channel_id, actor_url) do update set removed_at = excluded.removed_at`,
        [channelId, change.removedActors, change.removedAt.toISOString()],
      );
    }
    await tx.query(
      `delete from channels.removed_members where channel_id = $1
       and (actor_url = any($2::text[]) or removed_at < $3::timestamptz)
       and not (actor_url = any($4::text[]))`,
      [channelId, followers, change.forgetRemovalsBefore.toISOString(), change.removedActors],
    );
  }

  /**
   * Locks the channel row (every accepted change updates it, so changes of one channel serialize here)
   * and checks the change's role rule against the roles as they are now.
   */
  async function checkPermissionLocked(tx: SqlExecutor, channelId: string, permission: PermissionCheck) {
    const result = await tx.query<RolesRow>(`${ROLES_QUERY} for update of c`, [channelId]);
    const row = result.rows[0];
    if (row === undefined) throw new ConditionFailed(`no channel ${channelId}`);
    const check = checkPermission(roleTableOfRow(row), permission.submitter, permission.action);
    if (!check.ok) throw new ConditionFailed(check.summary);
  }

  /** Applies the change; returns the channel's sequence number and epoch after it. */
  async function applyChange(
    tx: SqlExecutor,
    channelId: string,
    change: ChannelChange,
  ): Promise<{ sequence: number; epoch: number }> {
    let result: { rows: { last_sequence: number; epoch: number }[]; rowCount: number };
    switch (change.kind) {
      case "create":
        result = await tx.query(
          `insert into channels.channels (id, name, attributed_to, ciphersuite, epoch, public_state, group_info, last_sequence)
           values ($1, $2, $3, $4, 0, $5, $6, 1)
           on conflict (id) do nothing returning last_sequence, epoch`,
          [
            channelId,
            change.name,
            change.attributedTo,
            change.ciphersuite,
            change.publicState,
            change.groupInfo,
          ],
        );
        if (result.rows.length === 0) throw new ConditionFailed("the channel id is already in use");
        await replaceMembers(tx, channelId, change.members);
        await tx.query("insert into channels.roles (channel_id, actor_url, role) values ($1, $2, 'owner')", [
          channelId,
          change.attributedTo,
        ]);
        break;
      case "commit":
        result = await tx.query(
          `update channels.channels
           set epoch = $3, public_state = $4, group_info = $5, last_sequence = last_sequence + 1, updated_at = now()
           where id = $1 and epoch = $2 returning last_sequence, epoch`,
          [channelId, change.expectedEpoch, change.newEpoch, change.publicState, change.groupInfo],
        );
        if (result.rows.length === 0) {
          throw new ConditionFailed(`another commit was accepted for epoch ${change.expectedEpoch} first`);
        }
        await replaceMembers(tx, channelId, change.members);
        await afterMembershipChange(tx, channelId, change);
        if (change.completesDeparture !== undefined)
          await completeDeparture(tx, channelId, change.completesDeparture);
        break;
      case "leave": {
        const refused = await recordDeparture(tx, channelId, change.submitter, change.departedAt, {
          handOverOwnership: change.accountDeleted === true,
        });
        if (refused !== undefined) throw new ConditionFailed(refused);
        result = await tx.query(
          `update channels.channels set last_sequence = last_sequence + 1, updated_at = now()
           where id = $1 returning last_sequence, epoch`,
          [channelId],
        );
        break;
      }
      case "message":
        result = await tx.query(
          `update channels.channels set last_sequence = last_sequence + 1, updated_at = now()
           where id = $1 and epoch between $2 and $2 + $3
             and exists (select 1 from channels.members where channel_id = $1 and actor_url = $4)
           returning last_sequence, epoch`,
          [channelId, change.messageEpoch, change.window, change.submitter],
        );
        if (result.rows.length === 0) {
          throw new ConditionFailed(
            "the channel's epoch or membership changed while the message was checked",
          );
        }
        break;
      case "rename":
        result = await tx.query(
          `update channels.channels set name = $2, last_sequence = last_sequence + 1, updated_at = now()
           where id = $1 and exists (select 1 from channels.members where channel_id = $1 and actor_url = $3)
           returning last_sequence, epoch`,
          [channelId, change.name, change.submitter],
        );
        if (result.rows.length === 0) throw new ConditionFailed("the submitter is no longer a member");
        break;
      case "role":
        result = await tx.query(
          `update channels.channels set last_sequence = last_sequence + 1, updated_at = now()
           where id = $1 returning last_sequence, epoch`,
          [channelId],
        );
        // The permission check ran under the row lock: the member is a member and not the owner.
        if (change.role === "admin") {
          await tx.query(
            `insert into channels.roles (channel_id, actor_url, role) values ($1, $2, 'admin')
             on conflict (channel_id, actor_url) do nothing`,
            [channelId, change.member],
          );
        } else {
          await tx.query(
            "delete from channels.roles where channel_id = $1 and actor_url = $2 and role = 'admin'",
            [channelId, change.member],
          );
        }
        break;
    }
    const row = result.rows[0];
    if (row === undefined) throw new Error("channel update returned no row");
    return { sequence: Number(row.last_sequence), epoch: Number(row.epoch) };
  }

  async function recordProcessed(
    tx: SqlExecutor,
    input: {
      channelId: string;
      activityId: string;
      outcome: "accepted" | "rejected";
      deliveries: DeliveryRequest[];
    },
  ): Promise<boolean> {
    const inserted = await tx.query(
      `insert into channels.processed (channel_id, activity_id, outcome, deliveries)
       values ($1, $2, $3, $4::jsonb) on conflict do nothing returning activity_id`,
      [input.channelId, input.activityId, input.outcome, JSON.stringify(input.deliveries)],
    );
    return inserted.rows.length === 1;
  }

  const epochStates = new BoundedCache<string, EpochState>({ maxEntries: EPOCH_STATE_CACHE_SIZE });

  /** The cached state of the channel when it is at `epoch`, else the one decoded from the row. */
  function epochStateOf(row: BasisRow & { id: string }, useCache: boolean): EpochState {
    const cached = useCache ? epochStates.peek(row.id) : undefined;
    epochStates.delete(row.id);
    let state: EpochState;
    if (cached !== undefined && cached.epoch === Number(row.epoch) && row.public_state === null) {
      // A departure changes the members without moving the epoch: then they were read anew.
      state = row.members === null ? cached : { ...cached, members: row.members };
    } else {
      if (row.public_state === null || row.members === null) {
        throw new Error(`channel ${row.id}: no state was read for epoch ${row.epoch}`);
      }
      const decoded = decodePublicGroupState(row.public_state);
      // Only states this service encoded are stored: a failure here is a defect, not bad input.
      if (!decoded.ok) throw new Error(`stored state of channel ${row.id} is unreadable: ${decoded.detail}`);
      state = { epoch: Number(row.epoch), publicState: decoded.state, members: row.members };
    }
    epochStates.set(row.id, state);
    return state;
  }

  /** `useCache` false reads and decodes the stored state even when the cache holds this epoch's. */
  async function readBasis(
    channelId: string,
    activityId: string,
    useCache: boolean,
  ): Promise<SubmissionBasis> {
    const cachedEpoch = (useCache ? epochStates.peek(channelId)?.epoch : undefined) ?? -1;
    const result = await sql.query<BasisRow>(BASIS_QUERY, [channelId, activityId, cachedEpoch]);
    const row = result.rows[0];
    if (row === undefined) throw new Error("the submission query returned no row");
    const prior: ProcessedActivity | undefined =
      row.outcome === null
        ? undefined
        : { outcome: row.outcome, deliveries: row.deliveries ?? [], published: row.published_at !== null };
    if (row.id === null) return { prior, channel: undefined };
    const state = epochStateOf({ ...row, id: row.id }, useCache);
    return {
      prior,
      channel: {
        ...summaryOf({ ...row, id: row.id }),
        publicState: state.publicState,
        lastSequence: Number(row.last_sequence),
        members: state.members,
        departed: row.departed ?? [],
      },
    };
  }

  /** The message path of `accept` as one statement; undefined when the channel moved since `basis`. */
  async function acceptMessageAt(
    input: Parameters<ChannelStore["accept"]>[0],
    basis: StoredChannel,
  ): Promise<AcceptOutcome | undefined> {
    const state: AcceptedState = {
      sequence: basis.lastSequence + 1,
      epoch: basis.epoch,
      followers: followersOf(basis.members),
    };
    const deliveries = input.deliveriesFor(state);
    const result = await sql.query(ACCEPT_MESSAGE_AT_SEQUENCE, [
      input.channelId,
      basis.lastSequence,
      basis.epoch,
      input.activityId,
      JSON.stringify(input.activity),
      JSON.stringify(deliveries),
    ]);
    return result.rows.length === 1 ? { kind: "accepted", state, deliveries } : undefined;
  }

  async function channel(channelId: string): Promise<ChannelSummary | undefined> {
    const result = await sql.query<ChannelRow>(
      "select id, name, attributed_to, ciphersuite, epoch from channels.channels where id = $1",
      [channelId],
    );
    const row = result.rows[0];
    return row ? summaryOf(row) : undefined;
  }

  return {
    channel,
    async channelState(channelId) {
      return (await readBasis(channelId, "", false)).channel;
    },
    submissionBasis: (channelId, activityId) => readBasis(channelId, activityId, true),
    followers: (channelId) => channelFollowers(sql, channelId),
    async roles(channelId) {
      const row = (await sql.query<RolesRow>(ROLES_QUERY, [channelId])).rows[0];
      return row === undefined ? undefined : roleTableOfRow(row);
    },
    async followersView(channelId, removedSince) {
      const result = await sql.query<RolesRow & { removed: { actorUrl: string; removedAt: string }[] }>(
        FOLLOWERS_VIEW_QUERY,
        [channelId, removedSince.toISOString()],
      );
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return {
        roles: roleTableOfRow(row),
        removed: row.removed.map((removed) => ({
          actorUrl: removed.actorUrl,
          removedAt: new Date(removed.removedAt),
        })),
      };
    },
    isFollower: (channelId, actorUrl) => isChannelFollower(sql, channelId, actorUrl),
    async groupInfo(channelId) {
      const result = await sql.query<{ epoch: number; group_info: Uint8Array }>(
        "select epoch, group_info from channels.channels where id = $1",
        [channelId],
      );
      const row = result.rows[0];
      return row ? { epoch: Number(row.epoch), groupInfo: row.group_info } : undefined;
    },
    async log(channelId, after, limit) {
      const result = await sql.query<{ sequence: number; epoch: number; activity: Record<string, unknown> }>(
        `select sequence, epoch, activity from channels.log
         where channel_id = $1 and sequence > $2 order by sequence limit $3`,
        [channelId, after, limit],
      );
      return result.rows.map((row) => ({
        sequence: Number(row.sequence),
        epoch: Number(row.epoch),
        activity: row.activity,
      }));
    },
    async channelsFollowedBy(actorUrl) {
      const result = await sql.query<ChannelRow>(
        `select c.id, c.name, c.attributed_to, c.ciphersuite, c.epoch from channels.channels c
         where exists (select 1 from channels.members m where m.channel_id = c.id and m.actor_url = $1)
         order by c.name, c.id`,
        [actorUrl],
      );
      return result.rows.map(summaryOf);
    },
    async processed(channelId, activityId) {
      const result = await sql.query<{
        outcome: "accepted" | "rejected";
        deliveries: DeliveryRequest[];
        published_at: Date | null;
      }>(
        "select outcome, deliveries, published_at from channels.processed where channel_id = $1 and activity_id = $2",
        [channelId, activityId],
      );
      const row = result.rows[0];
      return row
        ? { outcome: row.outcome, deliveries: row.deliveries, published: row.published_at !== null }
        : undefined;
    },
    async accept(input) {
      try {
        if (input.change.kind === "message" && input.basis !== undefined) {
          const accepted = await acceptMessageAt(input, input.basis);
          if (accepted !== undefined) return accepted;
        }
        return await sql.transaction(async (tx) => {
          // The processed row goes first: a concurrent handler of the same record waits on it and then
          // finds the activity taken instead of applying it a second time.
          if (!(await recordProcessed(tx, { ...input, outcome: "accepted", deliveries: [] }))) {
            return { kind: "duplicate" } as const;
          }
          if (
            input.change.kind !== "create" &&
            input.change.kind !== "message" &&
            input.change.kind !== "leave"
          ) {
            await checkPermissionLocked(tx, input.channelId, input.change.permission);
          }
          const { sequence, epoch } = await applyChange(tx, input.channelId, input.change);
          await tx.query(
            `insert into channels.log (channel_id, sequence, epoch, activity_id, activity) values ($1, $2, $3, $4, $5::jsonb)`,
            [input.channelId, sequence, epoch, input.activityId, JSON.stringify(input.activity)],
          );
          // Only creations and commits change the members, and they carry the members after the change.
          const members =
            input.change.kind === "create" || input.change.kind === "commit"
              ? input.change.members
              : await membersOf(tx, input.channelId);
          const followers = followersOf(members);
          const state = { sequence, epoch, followers };
          const deliveries = input.deliveriesFor(state);
          await tx.query(
            "update channels.processed set deliveries = $3::jsonb where channel_id = $1 and activity_id = $2",
            [input.channelId, input.activityId, JSON.stringify(deliveries)],
          );
          return { kind: "accepted", state, deliveries } as const;
        });
      } catch (error) {
        if (error instanceof ConditionFailed) return { kind: "conflict", detail: error.message };
        if (sqlErrorCode(error) === SQL_UNIQUE_VIOLATION) return { kind: "duplicate" };
        throw error;
      }
    },
    async reject(input) {
      try {
        return await recordProcessed(sql, { ...input, outcome: "rejected" });
      } catch (error) {
        if (sqlErrorCode(error) === SQL_UNIQUE_VIOLATION) return false;
        throw error;
      }
    },
    async markPublished(channelId, activityId) {
      await sql.query(
        "update channels.processed set published_at = now() where channel_id = $1 and activity_id = $2 and published_at is null",
        [channelId, activityId],
      );
    },
  };
}
