import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Metric, parseConsoleTables, type Scenario } from "../src/index.js";

const MLS_PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "mls");

/**
 * @mimi/mls's own benchmark (packages/mls/bench/bench.ts), run as it is in a child process and its
 * tables read back: application messages encrypted and decrypted per second with the caching crypto
 * provider and with ts-mls's default one, and add-one commit times for groups of 10, 100 and 1,000.
 */
export const mlsScenario: Scenario = {
  name: "mls",
  async run() {
    const messages = process.env.BENCH_MESSAGES ?? "2000";
    const sizes = process.env.BENCH_SIZES ?? "10,100,1000";
    const output = await runMlsBench({ BENCH_MESSAGES: messages, BENCH_SIZES: sizes });
    const [throughput, commits] = parseConsoleTables(output);
    if (!throughput || !commits) throw new Error(`unexpected output of the MLS benchmark:\n${output}`);
    const byProvider = new Map(throughput.map((row) => [row.provider, row]));
    const rate = (provider: string, column: string) => Number(byProvider.get(provider)?.[column]);
    const metrics: Metric[] = [
      {
        scenario: "7 MLS",
        name: "application messages encrypted/s, caching provider",
        value: rate("caching", "encrypt/s"),
        unit: "/s",
        reference: { name: "ts-mls default provider", value: rate("default", "encrypt/s") },
        target: { kind: "atLeast", bound: 5000 },
      },
      {
        scenario: "7 MLS",
        name: "application messages decrypted/s, caching provider",
        value: rate("caching", "decrypt/s"),
        unit: "/s",
        reference: { name: "ts-mls default provider", value: rate("default", "decrypt/s") },
      },
    ];
    for (const row of commits.filter((r) => r.provider === "caching")) {
      const members = row.members ?? "?";
      const baseline = commits.find((r) => r.members === members && r.provider === "default");
      metrics.push({
        scenario: "7 MLS",
        name: `add-one commit, ${members} members, caching provider`,
        value: Number(row["add-one commit"]),
        unit: "ms",
        reference: { name: "ts-mls default provider", value: Number(baseline?.["add-one commit"]) },
      });
    }
    return {
      metrics,
      notes: [
        `packages/mls/bench/bench.ts with BENCH_MESSAGES=${messages} (200-byte messages, 2-member group) and BENCH_SIZES=${sizes} (median of 5 add-one commits)`,
      ],
      details: { throughput, commits },
    };
  },
};

function runMlsBench(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/bench.ts"], {
      cwd: MLS_PACKAGE,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`the MLS benchmark exited with ${code}:\n${output}`)),
    );
  });
}
