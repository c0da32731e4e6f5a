import type { AccountContext } from "../context.js";
import type { DeviceKeys } from "./device-keys.js";
import { KEY_PACKAGE_CHECK_INTERVAL_MS, keyPackageCheckDue } from "./key-package-pool.js";

/**
 * Keeps this device's KeyPackages on the server topped up as syncs go by: others claim them without
 * the device knowing (each Add of this user's devices takes one), so every `KEY_PACKAGE_CHECK_INTERVAL_MS`
 * a sync reads the server's count and, below the threshold, uploads fresh ones up to the target (and a
 * last-resort one when the server holds none). The time of the last look is kept by this process only:
 * a new process looks on its first sync.
 */
export class KeyPackageTopUp {
  private lastCheckedMs: number | undefined;

  constructor(
    private readonly ctx: AccountContext,
    private readonly keys: DeviceKeys,
    private readonly intervalMs = KEY_PACKAGE_CHECK_INTERVAL_MS,
  ) {}

  /** Tops up when a look is due; a failure is a warning (the next due sync tries again). */
  async whenDue(warnings: string[]): Promise<void> {
    const now = this.ctx.now().getTime();
    if (!keyPackageCheckDue(this.lastCheckedMs, now, this.intervalMs)) return;
    if (!(await this.ctx.store.loadDevice())) return;
    this.lastCheckedMs = now;
    await this.keys.topUpQuietly(warnings);
  }
}
