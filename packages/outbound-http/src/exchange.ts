import type { Dispatcher } from "undici";

/** One hop's answer: a whole response, or a redirect to follow (its body not downloaded). */
export type HopResult =
  | {
      readonly kind: "response";
      readonly status: number;
      readonly headers: Dispatcher.ResponseData["headers"];
      readonly body: Uint8Array;
    }
  | { readonly kind: "redirect"; readonly status: number; readonly location: string }
  | { readonly kind: "tooLarge"; readonly detail: string }
  | { readonly kind: "error"; readonly error: unknown };

export interface HopRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string | undefined;
  readonly maxResponseBytes: number;
  /**
   * The location of a response with this head if it is a redirect to follow; its body is then never
   * read and the connection is given up instead.
   */
  readonly redirectTarget: (
    status: number,
    headers: Dispatcher.ResponseData["headers"],
  ) => string | undefined;
}

/**
 * One request and its whole answer through `dispatcher`, on undici's handler interface: the body is
 * collected straight into a buffer under the cap, with no response stream, async iterator or abort
 * signal per request (those were most of a delivery's HTTP cost). `cancel` stops the exchange at any
 * point, even before it reached a socket; the promise then resolves with an error of `cancel`'s reason.
 */
export function exchange(
  dispatcher: Dispatcher,
  request: HopRequest,
): { result: Promise<HopResult>; cancel: (reason: Error) => void } {
  let settle: (result: HopResult) => void = () => {};
  const result = new Promise<HopResult>((resolve) => {
    settle = resolve;
  });
  let settled = false;
  const finish = (value: HopResult) => {
    if (settled) return;
    settled = true;
    settle(value);
  };

  let controller: Dispatcher.DispatchController | undefined;
  let cancelledWith: Error | undefined;
  let status = 0;
  let headers: Dispatcher.ResponseData["headers"] = {};
  const chunks: Buffer[] = [];
  let received = 0;

  /** Ends the exchange with `value` and closes the request, whose own error is then ignored. */
  const stop = (value: HopResult) => {
    finish(value);
    if (controller !== undefined && !controller.aborted)
      controller.abort(new Error("the rest of the response is not wanted"));
  };

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(started) {
      controller = started;
      if (cancelledWith !== undefined) started.abort(cancelledWith);
    },
    onResponseStart(_controller, statusCode, responseHeaders) {
      // 1xx answers are informational: the real head follows.
      if (statusCode < 200) return;
      status = statusCode;
      headers = responseHeaders;
      const location = request.redirectTarget(statusCode, responseHeaders);
      if (location !== undefined) {
        stop({ kind: "redirect", status, location });
        return;
      }
      const declared = Number(responseHeaders["content-length"]);
      if (Number.isFinite(declared) && declared > request.maxResponseBytes) {
        stop({ kind: "tooLarge", detail: `declared length ${declared} > ${request.maxResponseBytes}` });
      }
    },
    onResponseData(_controller, chunk) {
      received += chunk.byteLength;
      if (received > request.maxResponseBytes) {
        stop({ kind: "tooLarge", detail: `response body exceeds ${request.maxResponseBytes} bytes` });
        return;
      }
      chunks.push(chunk);
    },
    onResponseEnd() {
      // A copy even of a single chunk: undici's chunks are views of the socket's read buffer.
      const body = Buffer.concat(chunks, received);
      finish({
        kind: "response",
        status,
        headers,
        body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      });
    },
    onResponseError(_controller, error) {
      finish({ kind: "error", error });
    },
  };

  try {
    dispatcher.dispatch(
      {
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
      },
      handler,
    );
  } catch (error) {
    finish({ kind: "error", error });
  }

  return {
    result,
    cancel(reason) {
      if (settled) return;
      cancelledWith = reason;
      finish({ kind: "error", error: reason });
      if (controller !== undefined && !controller.aborted) controller.abort(reason);
    },
  };
}
