import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, parse, readConfig } from "../src/index.js";

const spec = {
  port: { env: "PORT", schema: parse.port(), default: "8080", description: "HTTP port" },
  domain: { env: "MIMI_DOMAIN", schema: parse.domain(), default: "localhost", description: "the domain" },
  secret: { env: "SECRET", schema: parse.string(), description: "required secret" },
  verbose: { env: "VERBOSE", schema: parse.boolean(), default: "false", description: "flag" },
  brokers: { env: "BROKERS", schema: parse.list(), default: "", description: "list" },
};

describe("readConfig", () => {
  it("applies defaults and parses typed values", () => {
    const config = readConfig(spec, { SECRET: "s", PORT: "9000", BROKERS: "a:1, b:2" });
    expect(config).toEqual({
      port: 9000,
      domain: "localhost",
      secret: "s",
      verbose: false,
      brokers: ["a:1", "b:2"],
    });
  });

  it("treats an empty variable as unset", () => {
    expect(readConfig(spec, { SECRET: "s", PORT: "" }).port).toBe(8080);
  });

  it.each([
    [{ SECRET: "s", PORT: "eighty" }, "PORT"],
    [{ SECRET: "s", PORT: "70000" }, "PORT"],
    [{ SECRET: "s", MIMI_DOMAIN: "Not A Domain" }, "MIMI_DOMAIN"],
    [{ SECRET: "s", VERBOSE: "maybe" }, "VERBOSE"],
    [{}, "SECRET"],
  ])("fails naming the bad variable (%o)", (env, variable) => {
    let caught: unknown;
    try {
      readConfig(spec, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toContain(variable);
  });

  it("documents the spec as a table", () => {
    const table = describeConfig(spec);
    expect(table).toContain("| `PORT` | `8080` | HTTP port |");
    expect(table).toContain("| `SECRET` | (required) | required secret |");
  });
});
