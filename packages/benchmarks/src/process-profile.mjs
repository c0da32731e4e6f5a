/**
 * Preloaded (`--import`) into a service process whose whole life is to be profiled: V8's CPU profiler
 * runs from start to exit and writes `<MIMI_BENCH_PROCESS_PROFILE_DIR>/<pid>.cpuprofile`. Plain
 * JavaScript, because NODE_OPTIONS preloads may run before a TypeScript loader is registered
 * (and `--cpu-prof` is not allowed in NODE_OPTIONS).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.MIMI_BENCH_PROCESS_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  // Same-thread inspector sessions answer synchronously, so the profile is written before exit.
  process.on("exit", () => {
    session.post("Profiler.stop", (error, result) => {
      if (error || !result) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
