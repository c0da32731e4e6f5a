/** A failure the user can act on; the message is one readable line. */
export class MimiClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MimiClientError";
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
