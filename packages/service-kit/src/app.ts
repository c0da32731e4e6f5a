import express, { type Express, type Router } from "express";
import type { Logger } from "pino";
import { notFoundHandler, problemHandler } from "./errors.js";
import { type HealthRegistry, livenessFailures, readinessFailures } from "./health.js";
import type { Metrics } from "./metrics.js";

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/**
 * The proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed by default: loopback and
 * private addresses (an ingress controller, a sidecar). A client reaching the server directly from a
 * public address cannot pick the address its per-address rate limits count against.
 */
export const DEFAULT_TRUST_PROXY = "loopback, linklocal, uniquelocal";

export interface AppOptions {
  logger: Logger;
  /**
   * Express's `trust proxy`: `false` (believe no forwarded header), a number of hops, or a
   * comma-separated list of addresses, subnets and `loopback`/`linklocal`/`uniquelocal`.
   * Default `DEFAULT_TRUST_PROXY`.
   */
  trustProxy?: boolean | number | string;
  metrics: Metrics;
  /** Each check throws when its dependency is not usable; `/readyz` answers 503 then. */
  readiness?: ReadinessCheck[];
  /**
   * Components reporting their own health (a bus consumer, say): any that is not `up` makes `/readyz`
   * answer 503, a `failed` one makes `/healthz` answer 503 too, so Kubernetes restarts the process.
   */
  health?: HealthRegistry;
  /** Routers mounted in order at the root. */
  routers: Router[];
  /** Flipped to false on shutdown so load balancers stop sending traffic before the server closes. */
  isShuttingDown?: () => boolean;
}

/**
 * The express app every service (and the standalone process) is built from: health, readiness,
 * metrics, request logging without headers, the routers, then 404 and the single error mapper.
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", options.trustProxy ?? DEFAULT_TRUST_PROXY);
  app.set("etag", false);
  // The default "extended" parser allows nested objects in query strings; we never want that.
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      options.metrics.httpRequestDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        seconds,
      );
      // The fields are built only when the line is written: this runs for every request.
      if (options.logger.isLevelEnabled("debug")) {
        options.logger.debug(
          { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) },
          "request",
        );
      }
    });
    next();
  });

  // Liveness: only what a restart mends. A database that is down fails readiness, never liveness;
  // a component that mends itself is named in the answer without failing it.
  app.get("/healthz", (_req, res) => {
    const failures = options.health ? livenessFailures(options.health) : {};
    if (Object.keys(failures).length > 0) {
      res.status(503).json({ status: "unhealthy", failures });
      return;
    }
    const recovering = options.health ? readinessFailures(options.health) : {};
    res.json(Object.keys(recovering).length > 0 ? { status: "ok", recovering } : { status: "ok" });
  });

  app.get("/readyz", async (_req, res) => {
    if (options.isShuttingDown?.()) {
      res.status(503).json({ status: "shutting down" });
      return;
    }
    const failures: Record<string, string> = options.health ? readinessFailures(options.health) : {};
    await Promise.all(
      (options.readiness ?? []).map(async ({ name, check }) => {
        try {
          await check();
        } catch (error) {
          failures[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    if (Object.keys(failures).length > 0) {
      res.status(503).json({ status: "not ready", failures });
      return;
    }
    res.json({ status: "ready" });
  });

  app.get("/metrics", async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  for (const router of options.routers) app.use(router);
  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return app;
}
