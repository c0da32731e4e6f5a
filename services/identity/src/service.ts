export { type CertificateAuthorities, createCertificateAuthorities, type DomainCa } from "./ca.js";
export { identityConfigSpec } from "./config.js";
export { createIdentityContext, type IdentityContext, prepareIdentity } from "./context.js";
export { createIdentityService, type IdentitySettings, identityService } from "./factory.js";
export { identityMigrations } from "./migrations.js";
export { identityRouter } from "./router.js";
