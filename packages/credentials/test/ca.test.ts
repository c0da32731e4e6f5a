import { describe, expect, it } from "vitest";
import { createDomainCa, loadDomainCa } from "../src/index.js";
import * as x509 from "../src/x509-library.js";

describe("domain CA", () => {
  it("creates a self-signed Ed25519 CA for the domain and loads it back", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const material = await createDomainCa("a.test", { now, validityDays: 365 });
    expect(material.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const ca = await loadDomainCa(material);
    expect(ca.domain).toBe("a.test");
    expect(ca.certificate.subject).toBe("CN=a.test MIMI client CA");
    expect(ca.certificate.notBefore).toEqual(now);
    expect(ca.certificate.notAfter).toEqual(new Date("2031-01-01T00:00:00Z"));
    expect(await ca.certificate.isSelfSigned()).toBe(true);
    expect(ca.certificate.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    const usages = ca.certificate.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    expect(usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
  });

  it("refuses a private key that is not the certificate's, and invalid domains", async () => {
    const a = await createDomainCa("a.test");
    const other = await createDomainCa("a.test");
    await expect(
      loadDomainCa({ certificatePem: a.certificatePem, privateKeyPem: other.privateKeyPem }),
    ).rejects.toThrow(/does not belong/);
    await expect(createDomainCa("A.test/evil")).rejects.toThrow(/invalid domain/);
  });
});
