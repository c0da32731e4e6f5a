/** A parsed `connectTo` target: where a mapped host's connections really go. */
export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
}

const hostnamePattern =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Parses one `connectTo` target, `host:port` or `[ipv6]:port`.
 * Returns a reason string instead of a target when the text is not usable.
 */
export function parseConnectTarget(text: string): ConnectTarget | string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  if (!match) return `target "${text}" must be host:port or [ipv6]:port`;
  const [, rawHost = "", rawPort = ""] = match;
  const port = Number(rawPort);
  if (port < 1 || port > 65535) return `target "${text}" has port ${rawPort} outside 1-65535`;
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost.toLowerCase();
  return { host, port };
}

/**
 * Parses the development-only host mapping from its environment form,
 * `a.test=127.0.0.1:8081,b.test=127.0.0.1:8082` (like curl's `--connect-to`): a request for
 * `http://a.test/x` connects to 127.0.0.1:8081 while keeping the URL and `Host: a.test`.
 * Throws an Error naming the bad entry: this runs once at start-up on operator input.
 */
export function parseConnectTo(value: string): Map<string, string> {
  const mapping = new Map<string, string>();
  const trimmed = value.trim();
  if (trimmed === "") return mapping;
  for (const rawEntry of trimmed.split(",")) {
    const entry = rawEntry.trim();
    if (entry === "") throw new Error(`connectTo: empty entry in "${value}"`);
    const separator = entry.indexOf("=");
    if (separator <= 0) throw new Error(`connectTo: entry "${entry}" must look like host=target-host:port`);
    const host = entry.slice(0, separator).trim().toLowerCase();
    const target = entry.slice(separator + 1).trim();
    if (!hostnamePattern.test(host)) throw new Error(`connectTo: "${host}" is not a valid host name`);
    if (mapping.has(host)) throw new Error(`connectTo: host "${host}" is mapped twice`);
    const parsed = parseConnectTarget(target);
    if (typeof parsed === "string") throw new Error(`connectTo: ${parsed} (in entry "${entry}")`);
    mapping.set(host, target);
  }
  return mapping;
}
