import { hostname } from "node:os";
import type { DeviceResult, MimiClient } from "@mimi/client";
import { channelLabel } from "../format.js";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";

/**
 * `mimi device add [name]`: registers this MIMI_HOME as a device of the account and joins the
 * user's channels from it. `mimi device list`: the user's devices, this one marked.
 */
export async function deviceCommand(args: string[], io: Io, client: MimiClient) {
  const [action, ...rest] = args;
  if (action === "add") {
    await registerDevice(io, client, rest.join(" ") || defaultDeviceName());
    await joinChannels(io, client);
    return;
  }
  if (action === "list" && rest.length === 0) {
    for (const device of await client.devices())
      io.out(
        line`${device.current ? "* " : "  "}${device.name} (client ${device.clientId}), since ${device.createdAt.slice(0, 10)}${device.current ? " (this device)" : ""}`,
      );
    return;
  }
  if (action === "remove" && rest.length > 0) {
    await removeDevice(io, client, rest.join(" "));
    return;
  }
  // The full forms are in mimi --help; a mistake names the command most people mean.
  throw new UsageError(action === "list" ? "mimi device list" : "mimi device add [name]");
}

/**
 * `mimi device remove <name>`: takes one of the user's other devices out of every channel, then has
 * the home server delete it (its client and KeyPackages), so that no later Add brings it back.
 */
async function removeDevice(io: Io, client: MimiClient, reference: string) {
  const result = await client.removeDevice(reference, { timeoutMs: 30_000 });
  for (const event of result.events) {
    if (event.type === "accepted" && event.what === "remove")
      io.out(line`${event.channel.name}: removed ${result.device.name}`);
  }
  for (const event of result.events)
    if (event.type === "rejected")
      io.err(line`mimi: ${event.channel.name}: the removal was refused: ${event.reason}`);
  for (const notNow of result.notNow)
    io.err(line`mimi: ${notNow.channel}: not removed now: ${notNow.reason}`);
  if (result.waiting.length > 0)
    io.err(
      line`mimi: ${result.waiting.length} channels have not answered yet; mimi join shows their answers`,
    );
  if (result.submitted.length === 0 && result.notNow.length === 0)
    io.out(line`${result.device.name} is in none of your channels here`);
  if (result.deletedAtHome) io.out(line`deleted ${result.device.name} at your home server`);
  else if (result.notDeletedBecause)
    io.err(line`mimi: ${result.device.name} is not deleted yet: ${result.notDeletedBecause}`);
}

/** A new device joins every channel the user is in (by external commit) and says how it went. */
async function joinChannels(io: Io, client: MimiClient) {
  const result = await client.joinChannels({ timeoutMs: 30_000 });
  for (const event of result.events) {
    if (event.type === "joined") io.out(line`joined ${channelLabel(event.channel)}  ${event.channel.url}`);
  }
  for (const warning of result.warnings) io.err(line`mimi: warning: ${warning}`);
  for (const refusal of result.refused)
    io.err(line`mimi: cannot join ${refusal.channelUrl}: ${refusal.reason}`);
  if (result.waiting > 0)
    io.err(line`mimi: ${result.waiting} channels have not answered yet; mimi join finishes joining them`);
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
