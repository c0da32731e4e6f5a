import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  createLogger,
  installProcessErrorPolicy,
  type Logger,
  UNHANDLED_ERROR_EXIT_CODE,
} from "../src/index.js";

const repositoryRoot = fileURLToPath(new URL("../../..", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/unhandled-error.ts", import.meta.url));

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    name: "test",
    destination: { write: (line) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

describe("process error policy", () => {
  it("logs an unhandled rejection as fatal with its error and exits with the unhandled-error status", () => {
    const target = new EventEmitter();
    const { logger, lines } = capturingLogger();
    const exits: number[] = [];
    installProcessErrorPolicy({ logger, target, exit: (code) => exits.push(code) });
    target.emit("unhandledRejection", new Error("lost"), Promise.resolve());
    target.emit("unhandledRejection", "a bare string", Promise.resolve());
    target.emit("uncaughtException", new TypeError("broken"), "uncaughtException");
    expect(exits).toEqual([UNHANDLED_ERROR_EXIT_CODE, UNHANDLED_ERROR_EXIT_CODE, UNHANDLED_ERROR_EXIT_CODE]);
    expect(lines.map((line) => [line.level, line.event])).toEqual([
      [60, "unhandledRejection"],
      [60, "unhandledRejection"],
      [60, "uncaughtException"],
    ]);
    expect(lines[0]?.err).toMatchObject({ message: "lost" });
    expect(lines[1]?.thrown).toBe("'a bare string'");
    expect(lines[2]?.err).toMatchObject({ type: "TypeError", message: "broken" });
  });

  it("installs once per target; the uninstaller removes its listeners", () => {
    const target = new EventEmitter();
    const { logger } = capturingLogger();
    const uninstall = installProcessErrorPolicy({ logger, target, exit: () => undefined });
    installProcessErrorPolicy({ logger, target, exit: () => undefined });
    expect(target.listenerCount("unhandledRejection")).toBe(1);
    expect(target.listenerCount("uncaughtException")).toBe(1);
    uninstall();
    expect(target.listenerCount("unhandledRejection")).toBe(0);
  });

  for (const kind of ["rejection", "exception"] as const) {
    it(`ends a real process after an unhandled ${kind}, with a fatal log line first`, () => {
      const child = spawnSync(process.execPath, ["--import", "tsx", fixture, kind], {
        cwd: repositoryRoot,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(child.status).toBe(UNHANDLED_ERROR_EXIT_CODE);
      expect(child.stdout).not.toContain("still running");
      const fatal = child.stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { level: number; event: string; err: { message: string } });
      expect(fatal).toHaveLength(1);
      expect(fatal[0]?.level).toBe(60);
      expect(fatal[0]?.event).toBe(kind === "rejection" ? "unhandledRejection" : "uncaughtException");
      expect(fatal[0]?.err.message).toBe(kind === "rejection" ? "nobody awaited this" : "thrown in a timer");
    }, 90_000);
  }
});
