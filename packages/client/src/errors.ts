/** A failure the user can act on; the message is one readable line. */
export class MimiClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MimiClientError";
  }
}

/** A group this device must not join, whoever asks again: the reason stays the same. */
export class GroupRefused extends MimiClientError {
  constructor(message: string) {
    super(message);
    this.name = "GroupRefused";
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
