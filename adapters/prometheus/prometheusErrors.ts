/**
 * What can go wrong when asking Prometheus: it refused the query, it could not be reached, or it sent
 * something that is not its API's answer. Messages name the (redacted) URL and never carry credentials.
 */

/** Prometheus answered `{status:"error"}`: bad PromQL (400 bad_data), execution failure (422), overload (503)… */
export class PrometheusApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly errorType: string,
    /** Prometheus's own message, e.g. `1:5: parse error: unexpected end of input inside braces`. */
    readonly error: string,
    readonly query: string,
  ) {
    super(`Prometheus rejected the query (HTTP ${httpStatus} ${errorType}): ${error}; query: ${query}`);
    this.name = 'PrometheusApiError';
  }
}

/** The network request failed or timed out, or a proxy in front of Prometheus answered 5xx without an API body. */
export class PrometheusUnavailableError extends Error {
  constructor(
    /** Redacted base URL. */
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Prometheus at ${url} is unavailable: ${reason}`, options);
    this.name = 'PrometheusUnavailableError';
  }
}

/** An answer that is not the Prometheus HTTP API's shape (wrong URL, a proxy's HTML page, a changed API). */
export class PrometheusResponseError extends Error {
  constructor(
    readonly url: string,
    readonly endpoint: string,
    reason: string,
  ) {
    super(`Prometheus at ${url} sent a malformed answer to ${endpoint}: ${reason}`);
    this.name = 'PrometheusResponseError';
  }
}
