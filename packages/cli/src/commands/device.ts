import { hostname } from "node:os";
import type { DeviceResult, MimiClient } from "@mimi/client";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";

/** `mimi device add [name]`: registers this MIMI_HOME as a device of the account. */
export async function deviceCommand(args: string[], io: Io, client: MimiClient) {
  const [action, ...nameParts] = args;
  if (action !== "add") throw new UsageError("mimi device add [name]");
  await registerDevice(io, client, nameParts.join(" ") || defaultDeviceName());
}

export function defaultDeviceName(): string {
  return `mimi on ${hostname()}`;
}

export async function registerDevice(io: Io, client: MimiClient, name: string) {
  const result = await client.addDevice(name);
  io.out(
    line`registered device "${result.name}" (client ${result.clientId}), credential valid until ${result.credentialNotAfter.slice(0, 10)}`,
  );
  reportKeyPackages(io, result.keyPackages);
}

function reportKeyPackages(io: Io, result: DeviceResult["keyPackages"]) {
  if (!result.ok) {
    io.err(
      line`mimi: warning: KeyPackages were not uploaded: ${result.detail} (run mimi keypackages to retry)`,
    );
    return;
  }
  io.out(
    line`uploaded ${result.uploaded} KeyPackages (${result.available} available, last resort: ${result.hasLastResort ? "yes" : "no"})`,
  );
}

/** `mimi keypackages`: shows how many KeyPackages the server holds for this device and tops them up. */
export async function keyPackagesCommand(args: string[], io: Io, client: MimiClient) {
  if (args.length > 0) throw new UsageError("mimi keypackages");
  const device = await client.device();
  const result = await client.replenishKeyPackages();
  const label = device
    ? line`device "${device.name}" (client ${result.clientId})`
    : line`client ${result.clientId}`;
  io.out(
    line`${label}: ${result.available} KeyPackages available, last resort: ${result.hasLastResort ? "yes" : "no"}${result.uploaded > 0 ? line` (uploaded ${result.uploaded})` : ""}`,
  );
}
