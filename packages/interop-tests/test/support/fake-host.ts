import { FakeRemote, type ReceivedRequest } from "@mimi/testkit";

/** A request as it reached a fake host: method, path, headers and the exact body bytes. */
export type CapturedRequest = ReceivedRequest;

/**
 * Another server on the fediverse, written in the test: it answers GETs from a table of documents
 * (a path with a query falls back to the path's), answers every other POST 202, and keeps every request
 * it received (`toRequest` rebuilds one as a verifier at this host receives it).
 */
export class FakeHost extends FakeRemote {
  constructor(host: string) {
    super({ host, ignoreQuery: true });
  }

  serveJson(path: string, document: unknown, contentType = "application/activity+json"): void {
    this.serve(path, { status: 200, body: document, contentType });
  }
}
