import type { ClientEvent } from "../client-types.js";
import type { ConversationSession } from "../conversation/session.js";

/** What answering our submissions needs from the sync engine: the channel's log, and its order. */
export interface ChannelOrder {
  /** Applies the channel's log after the last applied entry. */
  catchUp(session: ConversationSession, events: ClientEvent[]): Promise<void>;
  /** Our accepted submission took `sequence` in the log: later entries may pass it. */
  passOwnEntry(session: ConversationSession, sequence: number, events: ClientEvent[]): Promise<void>;
}
