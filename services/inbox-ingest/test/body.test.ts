import { request } from "node:http";
import { connect } from "node:net";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { PROBLEM_CONTENT_TYPE } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, startTestIngest, type TestIngest } from "./harness.js";

const LIMIT = 1024;

let sql: Sql;
let ingest: TestIngest;

beforeAll(async () => {
  sql = await createTestDatabase();
  ingest = await startTestIngest({ sql, settings: { bodyLimitBytes: LIMIT } });
});

afterAll(async () => {
  await ingest?.close();
  await sql?.close();
});

/** POSTs `chunks` to bob's inbox with node:http (chunked unless a content-length is given). */
function post(
  chunks: string[],
  headers: Record<string, string>,
): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${ingest.base}/users/bob/inbox`,
      { method: "POST", headers: { "content-type": ACTIVITY_JSON, ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers["content-type"] ?? "",
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    // The server may answer (and stop reading) before everything was sent.
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe("reading the body", () => {
  it("refuses a chunked body as soon as it passes the limit (413)", async () => {
    const answer = await post(["{", "x".repeat(LIMIT), "}"], {});
    expect(answer.status).toBe(413);
    expect(answer.type).toContain(PROBLEM_CONTENT_TYPE);
    expect(answer.body).toMatchObject({ status: 413, reason: "bodyTooLarge" });
  });

  it("refuses a declared length over the limit before reading (413)", async () => {
    const body = "x".repeat(LIMIT + 1);
    const answer = await post([body], { "content-length": String(body.length) });
    expect(answer.body).toMatchObject({ status: 413, reason: "bodyTooLarge" });
  });

  it("refuses compressed bodies (415): the digest covers the bytes as sent", async () => {
    const answer = await post(["{}"], { "content-encoding": "gzip" });
    expect(answer.status).toBe(415);
    expect(answer.body).toMatchObject({ reason: "unsupportedContentEncoding" });
  });

  it("reads a chunked body within the limit: it reaches the JSON checks (400)", async () => {
    const answer = await post(["{not ", "json"], {});
    expect(answer.body).toMatchObject({ status: 400, reason: "malformedJson" });
  });

  it("reads an empty body as no activity (400)", async () => {
    const answer = await post([], { "content-length": "0" });
    expect(answer.body).toMatchObject({ status: 400, reason: "malformedJson" });
  });

  it("keeps serving after a client went away in the middle of a body", async () => {
    const { port } = new URL(ingest.base);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(
          `POST /users/bob/inbox HTTP/1.1\r\nhost: b.test\r\ncontent-type: ${ACTIVITY_JSON}\r\ncontent-length: 100\r\n\r\n{"id":`,
        );
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on("close", () => resolve());
      socket.on("error", reject);
    });
    const answer = await post(["{not json"], {});
    expect(answer.body).toMatchObject({ status: 400, reason: "malformedJson" });
  });
});
