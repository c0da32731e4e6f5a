/**
 * The client's view of its home provider's API. `mimi` never talks to other providers directly:
 * everything goes through the home server, which federates on the user's behalf.
 */
export class MimiApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail ? `${detail} (${status} ${title})` : `${status} ${title}`);
    this.name = "MimiApiError";
  }
}

export interface AccountInfo {
  username: string;
  acct: string;
  actor: string;
  clients: { id: string; name: string; createdAt: string }[];
}

export interface ProviderApiOptions {
  server: string;
  token?: string;
  fetch?: typeof fetch;
}

export class ProviderApi {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly fetcher: typeof fetch;

  constructor(options: ProviderApiOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.token = options.token;
    this.fetcher = options.fetch ?? fetch;
  }

  withToken(token: string): ProviderApi {
    return new ProviderApi({ server: this.server, token, fetch: this.fetcher });
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await this.fetcher(`${this.server}${path}`, {
        method,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new MimiApiError(0, "Unreachable", `cannot reach ${this.server}: ${reason}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const problem = (parsed ?? {}) as Record<string, unknown>;
      throw new MimiApiError(
        response.status,
        typeof problem.title === "string" ? problem.title : response.statusText,
        typeof problem.detail === "string" ? problem.detail : text.slice(0, 200),
        problem,
      );
    }
    return parsed as T;
  }

  createAccount(username: string, password: string) {
    return this.request<{ username: string; acct: string; actor: string; token: string }>(
      "POST",
      "/api/v1/accounts",
      {
        username,
        password,
      },
    );
  }

  createToken(username: string, password: string, label = "mimi cli") {
    return this.request<{ username: string; token: string }>("POST", "/api/v1/tokens", {
      username,
      password,
      label,
    });
  }

  me() {
    return this.request<AccountInfo>("GET", "/api/v1/me");
  }

  createClient(name: string) {
    return this.request<{ id: string; name: string; username: string }>("POST", "/api/v1/clients", { name });
  }
}
