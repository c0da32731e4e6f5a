import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@mimi/service-kit";
import { DEFAULT_POOL_MAX } from "@mimi/store";
import { afterAll, describe, expect, it } from "vitest";
import { readProviderConfig } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "mimi-provider-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kek = Buffer.alloc(32, 1).toString("base64");

function failure(env: Record<string, string>): ConfigError {
  try {
    readProviderConfig({ MIMI_DATA_DIR: dir, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("readProviderConfig", () => {
  it("defaults to a localhost development provider with a generated, persisted key-encryption key", () => {
    const config = readProviderConfig({ MIMI_DATA_DIR: join(dir, "dev") });
    expect(config).toMatchObject({
      domain: "localhost",
      port: 8080,
      publicUrl: "http://localhost:8080",
      production: false,
    });
    expect(config.urls.actor("alice")).toBe("http://localhost:8080/users/alice");
    const keyFile = join(dir, "dev", "key-encryption.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readProviderConfig({ MIMI_DATA_DIR: join(dir, "dev") }).keyEncryptionKey).toEqual(
      config.keyEncryptionKey,
    );
    expect(Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64")).toEqual(config.keyEncryptionKey);
  });

  it("believes forwarded headers from loopback and private proxies unless MIMI_TRUST_PROXY says otherwise", () => {
    const trust = (value?: string) =>
      readProviderConfig({ MIMI_DATA_DIR: dir, ...(value === undefined ? {} : { MIMI_TRUST_PROXY: value }) })
        .trustProxy;
    expect(trust()).toBe("loopback, linklocal, uniquelocal");
    expect(trust("10.0.0.0/8,  192.168.1.4 ,loopback")).toBe("10.0.0.0/8, 192.168.1.4, loopback");
    expect(trust("2")).toBe(2);
    expect(trust("false")).toBe(false);
    for (const bad of ["true", "everyone", "10.0.0.0/8/1", "10.0.0.0/x"]) {
      expect(() => trust(bad), bad).toThrow(ConfigError);
    }
  });

  it("parses the development host mapping", () => {
    const config = readProviderConfig({
      MIMI_DATA_DIR: dir,
      MIMI_DEV_CONNECT_TO: "a.test=127.0.0.1:8081,b.test=127.0.0.1:8082",
    });
    expect(config.connectTo.get("b.test")).toBe("127.0.0.1:8082");
  });

  it("accepts a production configuration", () => {
    const config = readProviderConfig({
      MIMI_ENV: "production",
      MIMI_DOMAIN: "a.example",
      MIMI_KEY_ENCRYPTION_KEY: kek,
      DATABASE_URL: "postgres://u:p@db/mimi",
      DATABASE_POOL_MAX: "40",
    });
    expect(config).toMatchObject({
      production: true,
      publicUrl: "https://a.example",
      databaseUrl: "postgres://u:p@db/mimi",
      databasePoolMax: 40,
    });
  });

  it("sizes the database pool at DEFAULT_POOL_MAX unless DATABASE_POOL_MAX says otherwise", () => {
    expect(readProviderConfig({ MIMI_DATA_DIR: dir }).databasePoolMax).toBe(DEFAULT_POOL_MAX);
    expect(DEFAULT_POOL_MAX).toBe(20);
  });

  it.each([
    [{ PORT: "-1" }, "PORT"],
    [{ MIMI_DOMAIN: "a b" }, "MIMI_DOMAIN"],
    [{ MIMI_PUBLIC_URL: "ftp://a.test" }, "MIMI_PUBLIC_URL"],
    [{ DATABASE_URL: "mysql://db" }, "DATABASE_URL"],
    [{ DATABASE_POOL_MAX: "0" }, "DATABASE_POOL_MAX"],
    [{ DATABASE_POOL_MAX: "many" }, "DATABASE_POOL_MAX"],
    [{ MIMI_KEY_ENCRYPTION_KEY: "short" }, "MIMI_KEY_ENCRYPTION_KEY"],
    [{ MIMI_DEV_CONNECT_TO: "a.test=nowhere" }, "MIMI_DEV_CONNECT_TO"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ MIMI_ENV: "production", MIMI_DOMAIN: "a.example" }, "MIMI_KEY_ENCRYPTION_KEY"],
    [
      { MIMI_ENV: "production", MIMI_KEY_ENCRYPTION_KEY: kek, MIMI_PUBLIC_URL: "http://a.example" },
      "MIMI_PUBLIC_URL",
    ],
    [
      {
        MIMI_ENV: "production",
        MIMI_DOMAIN: "a.example",
        MIMI_KEY_ENCRYPTION_KEY: kek,
        MIMI_DEV_CONNECT_TO: "b.test=127.0.0.1:1",
      },
      "MIMI_DEV_CONNECT_TO",
    ],
  ])("names the bad variable for %o", (env, variable) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
  });
});
