import type { ActorKeyStore } from "@mimi/actor-keys";
import {
  type FakeRemote,
  freePort,
  keyStoreResolver,
  startFakeRemote as startKitRemote,
} from "@mimi/testkit";

export type { FakeRemote, ReceivedPost } from "@mimi/testkit";

export interface FakeRemoteOptions {
  /** The host name other servers use for it (mapped to 127.0.0.1 by connectTo). */
  host: string;
  /** Listen on this port (to bring a server back on the port it was mapped to). */
  port?: number;
  /** Users served as actors; their actor documents offer a shared inbox when `sharedInbox` is set. */
  users: string[];
  sharedInbox: boolean;
  /** Members of a collection at `collectionPath`, served one per page to exercise paging. */
  followers?: string[];
  /** Where that collection is served (default `/followers`). */
  collectionPath?: string;
  /** Keys of the sending provider's actors, to verify signatures without a network fetch. */
  senderKeys: ActorKeyStore;
}

/** Another provider on 127.0.0.1: serves actor documents and followers, records and verifies POSTs. */
export function startFakeRemote({ senderKeys, ...options }: FakeRemoteOptions): Promise<FakeRemote> {
  return startKitRemote({ ...options, verifyWith: keyStoreResolver(senderKeys) });
}

/** A port that nothing listens on (for a destination that is down), free to listen on later. */
export const reservePort = freePort;
