import { requireBearer } from "@mimi/auth";
import { jsonBody } from "@mimi/service-kit";
import { Router } from "express";
import type { KeyPackageDirectoryContext } from "./context.js";
import { claimBody, claimKeyPackages } from "./routes/claim.js";
import { claimStateOutage } from "./routes/claim-state-outage.js";
import { clientClaim } from "./routes/client-claim.js";
import { ownKeyPackageCounts } from "./routes/counts.js";
import { listKeyPackages } from "./routes/list.js";
import { uploadBodyLimit, uploadKeyPackages } from "./routes/upload.js";

/** The keypackage directory's public surface: client upload/counts/claim and the federated claim. */
export function keyPackageDirectoryRouter(ctx: KeyPackageDirectoryContext): Router {
  const router = Router();
  const auth = requireBearer(ctx.tokens);
  // First: the busiest route (server-to-server claims) is matched before the others are tried.
  router.post("/users/:username/keyPackages/claim", claimBody(), claimKeyPackages(ctx));

  router.post(
    "/api/v1/keypackages",
    auth,
    ...jsonBody({ limit: uploadBodyLimit(ctx.settings.uploadBatchLimit) }),
    uploadKeyPackages(ctx),
  );
  router.get("/api/v1/keypackages", auth, ownKeyPackageCounts(ctx));
  router.post("/api/v1/keypackages/claim", auth, ...jsonBody({ limit: "16kb" }), clientClaim(ctx));

  router.get("/users/:username/keyPackages", listKeyPackages(ctx));
  router.use(claimStateOutage(ctx.logger));
  return router;
}
