/** What the writer needs of a response (an express `Response` or any `Writable`). */
export interface SseSink {
  write(chunk: string): boolean;
  end(): void;
  readonly writableNeedDrain: boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Writes a Server-Sent Events stream. An event waits until the client has taken what was written
 * before (the socket drained), so a client that reads slowly or not at all holds back its stream
 * instead of making the server buffer without bound; comment lines (heartbeats) are skipped while it
 * is behind.
 */
export class SseWriter {
  private ended = false;

  constructor(private readonly sink: SseSink) {
    sink.once("close", () => {
      this.ended = true;
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Resolves true once the event was handed over, false when the stream closed first. */
  event(fields: { id: string; event: string; data: string }): Promise<boolean> {
    return this.write(`id: ${fields.id}\nevent: ${fields.event}\ndata: ${fields.data}\n\n`);
  }

  /** A comment line (`: text`); dropped while the client has not taken what was written before. */
  comment(text: string): void {
    if (this.ended || this.sink.writableNeedDrain) return;
    this.sink.write(`: ${text}\n\n`);
  }

  /** Raw stream text (the `retry:` field and the like), with the same waiting as `event`. */
  async write(text: string): Promise<boolean> {
    if (this.ended) return false;
    if (this.sink.write(text)) return true;
    return new Promise<boolean>((resolve) => {
      const drained = () => {
        this.sink.off("close", closed);
        resolve(!this.ended);
      };
      const closed = () => {
        this.sink.off("drain", drained);
        resolve(false);
      };
      this.sink.once("drain", drained);
      this.sink.once("close", closed);
    });
  }

  /** Ends the response (the client reconnects with `Last-Event-ID`). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.end();
  }
}
