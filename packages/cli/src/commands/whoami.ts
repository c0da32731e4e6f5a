import { ProviderApi, type StateStore } from "@mimi/client";
import type { Io } from "../io.js";

/** `mimi whoami`: the current account as the server sees it. */
export async function whoamiCommand(io: Io, state: StateStore, handle?: string) {
  const account = await state.resolveAccount(handle);
  const me = await new ProviderApi({ server: account.server, token: account.token }).me();
  io.out(`${me.acct.replace(/^acct:/, "")}  ${me.actor}`);
  io.out(`server: ${account.server}`);
  io.out(
    `clients: ${me.clients.length === 0 ? "none" : me.clients.map((c) => `${c.name} (${c.id})`).join(", ")}`,
  );
}
