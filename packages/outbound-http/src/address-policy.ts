import { isIP } from "node:net";

/** Why an address may not be contacted from production, or "public" when it may. */
export type AddressCategory =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "carrierGradeNat"
  | "linkLocal"
  | "uniqueLocal"
  | "multicast"
  | "reserved"
  | "invalid";

interface Ipv4Range {
  readonly base: number;
  readonly prefix: number;
  readonly category: Exclude<AddressCategory, "public" | "invalid">;
}

function ipv4Range(cidr: string, category: Ipv4Range["category"]): Ipv4Range {
  const [address, prefix] = cidr.split("/");
  const base = parseIpv4(address ?? "");
  if (base === undefined || prefix === undefined) throw new Error(`bad range ${cidr}`);
  return { base, prefix: Number(prefix), category };
}

// Every IPv4 range that is not routable on the public internet, or that reaches this host,
// its local network or its provider's network.
const blockedIpv4Ranges: readonly Ipv4Range[] = [
  ipv4Range("0.0.0.0/8", "unspecified"),
  ipv4Range("10.0.0.0/8", "private"),
  ipv4Range("100.64.0.0/10", "carrierGradeNat"),
  ipv4Range("127.0.0.0/8", "loopback"),
  ipv4Range("169.254.0.0/16", "linkLocal"),
  ipv4Range("172.16.0.0/12", "private"),
  ipv4Range("192.0.0.0/24", "reserved"),
  ipv4Range("192.0.2.0/24", "reserved"),
  ipv4Range("192.88.99.0/24", "reserved"),
  ipv4Range("192.168.0.0/16", "private"),
  ipv4Range("198.18.0.0/15", "reserved"),
  ipv4Range("198.51.100.0/24", "reserved"),
  ipv4Range("203.0.113.0/24", "reserved"),
  ipv4Range("224.0.0.0/4", "multicast"),
  ipv4Range("240.0.0.0/4", "reserved"),
];

/** Parses dotted-quad IPv4 into an unsigned 32-bit number. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Parses an IPv6 address (with optional embedded IPv4 tail and zone) into eight 16-bit groups. */
export function parseIpv6(text: string): number[] | undefined {
  let address = text.split("%")[0] ?? "";
  // Rewrite a dotted IPv4 tail ("::ffff:1.2.3.4") as two hex groups so one grammar remains.
  const lastColon = address.lastIndexOf(":");
  const tail = address.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined || lastColon === -1) return undefined;
    const high = Math.floor(v4 / 65536).toString(16);
    const low = (v4 % 65536).toString(16);
    address = `${address.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };
  const left = parseGroups(halves[0] ?? "");
  const right = halves.length === 2 ? parseGroups(halves[1] ?? "") : [];
  if (left === undefined || right === undefined) return undefined;
  const explicit = left.length + right.length;
  if (halves.length === 1) return explicit === 8 ? left : undefined;
  if (explicit > 7) return undefined;
  return [...left, ...new Array<number>(8 - explicit).fill(0), ...right];
}

function classifyIpv4(value: number): AddressCategory {
  for (const range of blockedIpv4Ranges) {
    const size = 2 ** (32 - range.prefix);
    if (value >= range.base && value < range.base + size) return range.category;
  }
  return "public";
}

function embeddedIpv4(groups: readonly number[], fromGroup: number): number {
  return (groups[fromGroup] ?? 0) * 65536 + (groups[fromGroup + 1] ?? 0);
}

function classifyIpv6(groups: readonly number[]): AddressCategory {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstFiveZero && g5 === 0 && g6 === 0 && g7 === 0) return "unspecified";
  if (firstFiveZero && g5 === 0 && g6 === 0 && g7 === 1) return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d) forms carry
  // an IPv4 address that the socket layer may reach directly: judge that address.
  if (firstFiveZero && (g5 === 0xffff || g5 === 0)) return classifyIpv4(embeddedIpv4(groups, 6));
  // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 also embed an IPv4 target.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return classifyIpv4(embeddedIpv4(groups, 6));
  }
  if (g0 === 0x2002) return classifyIpv4(embeddedIpv4(groups, 1));
  if ((g0 & 0xffc0) === 0xfe80) return "linkLocal";
  if ((g0 & 0xffc0) === 0xfec0) return "private";
  if ((g0 & 0xfe00) === 0xfc00) return "uniqueLocal";
  if ((g0 & 0xff00) === 0xff00) return "multicast";
  if (g0 === 0x2001 && g1 === 0x0db8) return "reserved";
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0) return "reserved";
  return "public";
}

/** Classifies a literal IP address (IPv4 or IPv6, brackets allowed). */
export function classifyAddress(address: string): AddressCategory {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const family = isIP(bare.split("%")[0] ?? "");
  if (family === 4) {
    const value = parseIpv4(bare);
    return value === undefined ? "invalid" : classifyIpv4(value);
  }
  if (family === 6) {
    const groups = parseIpv6(bare);
    return groups === undefined ? "invalid" : classifyIpv6(groups);
  }
  return "invalid";
}

/** True when the production policy forbids connecting to this literal address. */
export function isBlockedAddress(address: string): boolean {
  return classifyAddress(address) !== "public";
}
