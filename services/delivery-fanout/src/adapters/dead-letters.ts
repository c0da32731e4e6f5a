import type { Sql } from "@mimi/store";

/** A delivery given up on, kept in `delivery.dead_letters` for operators (and the bus dead topic). */
export interface DeadLetter {
  activityId: string;
  /** The destination inbox; undefined when no inbox was ever found (unresolvable actor). */
  inbox: string | undefined;
  recipients: string[];
  reason: string;
  attempts: number;
  firstAttemptAt: Date;
}

export interface DeadLetterRecord extends DeadLetter {
  id: number;
  deadAt: Date;
}

export interface DeadLetters {
  record(letter: DeadLetter): Promise<void>;
  recent(limit: number): Promise<DeadLetterRecord[]>;
}

interface DeadLetterRow {
  id: number;
  activity_id: string;
  inbox: string | null;
  recipients: string[];
  reason: string;
  attempts: number;
  first_attempt_at: Date;
  dead_at: Date;
}

export function createDeadLetters(sql: Sql): DeadLetters {
  return {
    async record(letter) {
      await sql.query(
        `insert into delivery.dead_letters (activity_id, inbox, recipients, reason, attempts, first_attempt_at)
         values ($1, $2, $3::jsonb, $4, $5, $6)`,
        [
          letter.activityId,
          letter.inbox ?? null,
          JSON.stringify(letter.recipients),
          letter.reason,
          letter.attempts,
          letter.firstAttemptAt,
        ],
      );
    },
    async recent(limit) {
      const result = await sql.query<DeadLetterRow>(
        `select id, activity_id, inbox, recipients, reason, attempts, first_attempt_at, dead_at
         from delivery.dead_letters order by id desc limit $1`,
        [limit],
      );
      return result.rows.map((row) => ({
        id: row.id,
        activityId: row.activity_id,
        inbox: row.inbox ?? undefined,
        recipients: row.recipients,
        reason: row.reason,
        attempts: row.attempts,
        firstAttemptAt: row.first_attempt_at,
        deadAt: row.dead_at,
      }));
    },
  };
}
