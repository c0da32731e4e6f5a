import { describe, expect, it } from "vitest";
import { parseConnectTarget, parseConnectTo } from "../src/index.js";

describe("parseConnectTo", () => {
  it("parses the environment form", () => {
    const mapping = parseConnectTo("a.test=127.0.0.1:8081, B.test=127.0.0.1:8082");
    expect([...mapping]).toEqual([
      ["a.test", "127.0.0.1:8081"],
      ["b.test", "127.0.0.1:8082"],
    ]);
  });

  it("returns an empty map for an empty value", () => {
    expect(parseConnectTo("  ").size).toBe(0);
  });

  it("accepts a bracketed IPv6 target", () => {
    expect(parseConnectTo("a.test=[::1]:9000").get("a.test")).toBe("[::1]:9000");
    expect(parseConnectTarget("[::1]:9000")).toEqual({ host: "::1", port: 9000 });
  });

  it.each([
    ["a.test", /host=target-host:port/],
    ["=127.0.0.1:80", /host=target-host:port/],
    ["a.test=127.0.0.1", /host:port/],
    ["a.test=127.0.0.1:0", /outside 1-65535/],
    ["a.test=127.0.0.1:70000", /outside 1-65535/],
    ["a.test=127.0.0.1:80,,b.test=127.0.0.1:81", /empty entry/],
    ["a.test=127.0.0.1:80,a.test=127.0.0.1:81", /mapped twice/],
    ["bad_host!=127.0.0.1:80", /not a valid host name/],
  ])("rejects %s", (value, message) => {
    expect(() => parseConnectTo(value)).toThrow(message);
  });
});
