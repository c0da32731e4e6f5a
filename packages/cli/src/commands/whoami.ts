import { ProviderApi, type StateStore } from "@mimi/client";
import { person } from "../format.js";
import type { Io } from "../io.js";
import { joined, line } from "../terminal.js";

/** `mimi whoami`: the current account as the server sees it. */
export async function whoamiCommand(io: Io, state: StateStore, handle?: string) {
  const account = await state.resolveAccount(handle);
  const connectTo = io.env.MIMI_DEV_CONNECT_TO;
  const api = new ProviderApi({
    server: account.server,
    token: account.token,
    ...(connectTo ? { connectTo } : {}),
  });
  const me = await api.me();
  io.out(line`${person(me.acct)}  ${me.actor}`);
  io.out(line`server: ${account.server}`);
  io.out(
    line`clients: ${
      me.clients.length === 0
        ? "none"
        : joined(
            me.clients.map((c) => line`${c.name} (${c.id})`),
            ", ",
          )
    }`,
  );
}
