import { describe, expect, it } from "vitest";
import { deviceNamed } from "../src/device/device-removal.js";
import type { DeviceInfo } from "../src/device/devices.js";

const devices: DeviceInfo[] = [
  { clientId: "laptop-id", name: "laptop", createdAt: "2026-01-01T00:00:00.000Z", current: true },
  { clientId: "phone-id", name: "phone", createdAt: "2026-02-01T00:00:00.000Z", current: false },
  { clientId: "old-1", name: "old", createdAt: "2026-03-01T00:00:00.000Z", current: false },
  { clientId: "old-2", name: "old", createdAt: "2026-04-01T00:00:00.000Z", current: false },
];

describe("which device a removal names", () => {
  it("finds another device by name or client id", () => {
    expect(deviceNamed(devices, "phone").clientId).toBe("phone-id");
    expect(deviceNamed(devices, "old-2").clientId).toBe("old-2");
  });
  it("refuses this device, an unknown one and an ambiguous name", () => {
    expect(() => deviceNamed(devices, "laptop")).toThrow(/current device/);
    expect(() => deviceNamed(devices, "tablet")).toThrow(/no device tablet/);
    expect(() => deviceNamed(devices, "old")).toThrow(/several devices/);
  });
});
