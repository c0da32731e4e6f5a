/** What the writer needs of a response (an express `Response` or any `Writable`). */
export interface SseSink {
  write(chunk: string): boolean;
  end(): void;
  destroy(): void;
  readonly writableNeedDrain: boolean;
  /** Bytes written and not yet taken by the client, as held in this process. */
  readonly writableLength: number;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** Why the server ended a stream, sent as the data of its last event (`event: closed`). */
export type StreamCloseReason =
  /** The client took nothing of what was written for the stall timeout. */
  | "behind"
  /** No activity was sent for the idle timeout; the client reconnects where it stopped. */
  | "idle"
  /** The mailbox could not be read for now. */
  | "unavailable";

export interface SseWriterOptions {
  /** Longest piece written at once: what the process holds per stream beyond the socket's buffer. */
  chunkBytes: number;
  /** A wait for the client to take what was written that lasts longer ends the stream as `behind`. */
  stallTimeoutMs: number;
}

const DEFAULT_OPTIONS: SseWriterOptions = { chunkBytes: 16 * 1024, stallTimeoutMs: 60_000 };

/**
 * Writes a Server-Sent Events stream. An event is written a chunk at a time and each chunk waits until
 * the client has taken what was written before (the socket drained), so a client that reads slowly or
 * not at all holds back its stream instead of making the server buffer without bound: the bytes held
 * per stream stay under the socket's high-water mark plus one chunk, however large an event is.
 * Comment lines (heartbeats) are skipped while the client is behind. A client that takes nothing for
 * `stallTimeoutMs` is `stalled`; `close(reason)` then ends the stream with a last `closed` event.
 */
export class SseWriter {
  private ended = false;
  private stalledFlag = false;
  private readonly options: SseWriterOptions;

  constructor(
    private readonly sink: SseSink,
    options: Partial<SseWriterOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    sink.once("close", () => {
      this.ended = true;
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** True once a write waited longer than the stall timeout for the client. */
  get stalled(): boolean {
    return this.stalledFlag;
  }

  /** Bytes written to this stream that the client has not taken yet (held in this process). */
  get bufferedBytes(): number {
    return this.sink.writableLength;
  }

  /** Resolves true once the event was handed over, false when the stream closed or stalled first. */
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
    const { chunkBytes } = this.options;
    for (let start = 0; start < text.length; start += chunkBytes) {
      if (this.ended || this.stalledFlag) return false;
      // After each chunk, the last included: the caller reads what comes next only once the client
      // took this, so neither its buffer here nor the pages read for it grow while the client waits.
      if (!this.sink.write(text.slice(start, start + chunkBytes)) && !(await this.drained())) return false;
    }
    return !this.ended;
  }

  /**
   * Ends the stream with a last event saying why (`event: closed`, `data: {"reason": ...}`). A client
   * that does not read it within the stall timeout is disconnected: its socket is not kept for it.
   */
  close(reason: StreamCloseReason): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.write(`event: closed\ndata: ${JSON.stringify({ reason })}\n\n`);
    this.sink.end();
    const disconnect = setTimeout(() => this.sink.destroy(), this.options.stallTimeoutMs);
    disconnect.unref();
    this.sink.once("close", () => clearTimeout(disconnect));
  }

  /** Resolves true on the next drain, false when the stream closes or the stall timeout passes first. */
  private drained(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.sink.off("drain", onDrain);
        this.sink.off("close", onClose);
        resolve(result);
      };
      const onDrain = () => finish(!this.ended);
      const onClose = () => finish(false);
      const timer = setTimeout(() => {
        this.stalledFlag = true;
        finish(false);
      }, this.options.stallTimeoutMs);
      this.sink.once("drain", onDrain);
      this.sink.once("close", onClose);
    });
  }
}
