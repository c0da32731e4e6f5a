import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { defaultPublicUrl, type ProviderUrls, providerUrls } from "@mimi/activitypub";
import { generateKeyEncryptionKey, parseKeyEncryptionKey } from "@mimi/actor-keys";
import { parseConnectTo } from "@mimi/outbound-http";
import { ConfigError, type ConfigOf, DEFAULT_TRUST_PROXY, parse, readConfig } from "@mimi/service-kit";
import { DEFAULT_POOL_MAX } from "@mimi/store";
import { z } from "zod";

/**
 * Settings every service of one provider shares. Services add their own specs beside it;
 * the standalone process reads the union once.
 */
export const providerConfigSpec = {
  environment: {
    env: "MIMI_ENV",
    schema: parse.environment(),
    default: "development",
    description:
      "`production` enforces HTTPS-only public URLs, address filtering and a configured key-encryption key",
  },
  domain: {
    env: "MIMI_DOMAIN",
    schema: parse.domain(),
    default: "localhost",
    description: "the provider's domain: users are `acct:user@<domain>`",
  },
  publicUrl: {
    env: "MIMI_PUBLIC_URL",
    schema: z.union([z.literal(""), parse.url()]),
    default: "",
    description:
      "base URL of the provider as others reach it (default `http://localhost:<PORT>` for localhost, else `https://<domain>`)",
  },
  port: { env: "PORT", schema: parse.port(), default: "8080", description: "HTTP port" },
  databaseUrl: {
    env: "DATABASE_URL",
    schema: z.union([z.literal(""), z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")]),
    default: "",
    description: "PostgreSQL URL; empty means the embedded PGlite database under `MIMI_DATA_DIR`",
  },
  databasePoolMax: {
    env: "DATABASE_POOL_MAX",
    schema: parse.positiveInt(),
    default: String(DEFAULT_POOL_MAX),
    description: "PostgreSQL connections per process (the pool size); unused with the embedded database",
  },
  dataDir: {
    env: "MIMI_DATA_DIR",
    schema: parse.string(),
    default: "./data",
    description: "folder for the embedded database and generated development secrets",
  },
  keyEncryptionKey: {
    env: "MIMI_KEY_ENCRYPTION_KEY",
    schema: z.string(),
    default: "",
    description:
      "base64 32-byte key sealing actor and CA private keys (required in production; generated under `MIMI_DATA_DIR` otherwise)",
  },
  devConnectTo: {
    env: "MIMI_DEV_CONNECT_TO",
    schema: z.string(),
    default: "",
    description:
      "development only: `host=ip:port,...` routes requests for those hosts to local addresses over plain HTTP (like curl --connect-to)",
  },
  trustProxy: {
    env: "MIMI_TRUST_PROXY",
    schema: z.string(),
    default: DEFAULT_TRUST_PROXY,
    description:
      "proxies whose X-Forwarded-For/-Proto are believed: addresses, subnets and loopback/linklocal/uniquelocal, comma-separated, a number of hops, or `false`; the client address per-address rate limits count",
  },
  logLevel: { env: "LOG_LEVEL", schema: parse.logLevel(), default: "info", description: "pino log level" },
};

const PROXY_RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** `MIMI_TRUST_PROXY` as express takes it; throws `ConfigError` for anything else. */
export function parseTrustProxy(value: string): false | number | string {
  const trimmed = value.trim();
  if (trimmed === "false") return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split("/");
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && rest.length === 0);
    if (PROXY_RANGE_NAMES.has(entry) || (address !== undefined && isIP(address) !== 0 && validPrefix))
      continue;
    throw new ConfigError(
      "MIMI_TRUST_PROXY",
      `"${entry}" is not an address, a subnet, loopback, linklocal or uniquelocal (or use a hop count or false)`,
    );
  }
  return entries.join(", ");
}

export type RawProviderConfig = ConfigOf<typeof providerConfigSpec>;

export interface ProviderConfig {
  environment: "production" | "development";
  production: boolean;
  domain: string;
  publicUrl: string;
  urls: ProviderUrls;
  port: number;
  databaseUrl: string | undefined;
  /** Pool size for `openSql` (`maxConnections`) when `databaseUrl` is set. */
  databasePoolMax: number;
  dataDir: string;
  keyEncryptionKey: Buffer;
  connectTo: Map<string, string>;
  /** Which proxies' forwarded headers are believed (express's `trust proxy`). */
  trustProxy: false | number | string;
  logLevel: string;
}

/** Reads and cross-checks the shared settings; throws `ConfigError` naming the offending variable. */
export function readProviderConfig(env: Record<string, string | undefined> = process.env): ProviderConfig {
  const raw = readConfig(providerConfigSpec, env);
  const production = raw.environment === "production";
  const publicUrl = raw.publicUrl || defaultPublicUrl(raw.domain, raw.port);
  if (production && !publicUrl.startsWith("https://")) {
    throw new ConfigError("MIMI_PUBLIC_URL", "must be an https URL in production");
  }
  let connectTo: Map<string, string>;
  try {
    connectTo = parseConnectTo(raw.devConnectTo);
  } catch (error) {
    throw new ConfigError("MIMI_DEV_CONNECT_TO", error instanceof Error ? error.message : String(error));
  }
  if (production && connectTo.size > 0) {
    throw new ConfigError(
      "MIMI_DEV_CONNECT_TO",
      "is a development-only setting and must not be set in production",
    );
  }
  const dataDir = resolve(raw.dataDir);
  let keyEncryptionKey: Buffer;
  if (raw.keyEncryptionKey) {
    try {
      keyEncryptionKey = parseKeyEncryptionKey(raw.keyEncryptionKey);
    } catch (error) {
      throw new ConfigError(
        "MIMI_KEY_ENCRYPTION_KEY",
        error instanceof Error ? error.message : String(error),
      );
    }
  } else if (production) {
    throw new ConfigError("MIMI_KEY_ENCRYPTION_KEY", "is required in production");
  } else {
    keyEncryptionKey = developmentKeyEncryptionKey(dataDir);
  }
  return {
    environment: raw.environment,
    production,
    domain: raw.domain,
    publicUrl,
    urls: providerUrls(raw.domain, publicUrl),
    port: raw.port,
    databaseUrl: raw.databaseUrl || undefined,
    databasePoolMax: raw.databasePoolMax,
    dataDir,
    keyEncryptionKey,
    connectTo,
    trustProxy: parseTrustProxy(raw.trustProxy),
    logLevel: raw.logLevel,
  };
}

/** In development the key-encryption key is generated once and kept beside the embedded database. */
function developmentKeyEncryptionKey(dataDir: string): Buffer {
  const path = join(dataDir, "key-encryption.key");
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, `${generateKeyEncryptionKey()}\n`, { mode: 0o600, flag: "wx" });
  }
  return parseKeyEncryptionKey(readFileSync(path, "utf8").trim());
}
