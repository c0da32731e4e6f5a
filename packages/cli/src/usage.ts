export class UsageError extends Error {
  constructor(readonly usage: string) {
    super(`usage: ${usage}`);
    this.name = "UsageError";
  }
}

export const HELP = `mimi: end-to-end encrypted messaging over MIMI/ActivityPub

  mimi account create <user> --server <url>   create an account on your provider
  mimi account login <user> --server <url>    sign in with an existing account
  mimi account use <user@domain>              switch the current account
  mimi whoami                                 show the current account

Global: --as <user@domain> picks an account; MIMI_HOME (default ~/.mimi) holds state;
MIMI_PASSWORD supplies the password without a prompt.`;
