import type { NextFunction, Request, RequestHandler, Response } from "express";

/** Express 5 forwards rejected promises itself; this wrapper only fixes the handler's type. */
export function asyncRoute(
  handler: (req: Request, res: Response, next: NextFunction) => Promise<void>,
): RequestHandler {
  return (req, res, next) => {
    handler(req, res, next).catch(next);
  };
}
