/**
 * Where Temporal is and how to reach it. Settings come from `@temporalio/envconfig`, the same source
 * the Temporal CLI and other SDKs read: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS*`, `TEMPORAL_GRPC_META_*`, and TOML profiles (`TEMPORAL_CONFIG_FILE`, default
 * `~/.config/temporalio/temporal.toml`; `TEMPORAL_PROFILE`, default "default"). With none of them set,
 * the local dev server at 127.0.0.1:7233 is meant.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The options both the client `Connection` and the worker's `NativeConnection` accept. */
export type TemporalConnectionOptions = Pick<NativeConnectionOptions, 'tls' | 'apiKey' | 'metadata'> & { address: string };

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** May hold an API key: never log this object, use `describeTemporalSettings`. */
  connectionOptions: TemporalConnectionOptions;
  /** True when TEMPORAL_ADDRESS or a config profile named an address (so Vigil must not start a dev server). */
  external: boolean;
}

/** Reads the Temporal settings from the environment and config profile. `env` defaults to process.env. */
export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  let profile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars });
  } catch (err) {
    const where = [
      env.TEMPORAL_CONFIG_FILE ? `TEMPORAL_CONFIG_FILE=${env.TEMPORAL_CONFIG_FILE}` : 'default config file',
      env.TEMPORAL_PROFILE ? `TEMPORAL_PROFILE=${env.TEMPORAL_PROFILE}` : 'profile "default"',
    ].join(', ');
    throw new Error(`invalid Temporal client configuration (${where}): ${errorMessage(err)}`, { cause: err });
  }
  const external = Boolean(profile.address);
  const connect = toClientOptions(profile);
  const address = connect.connectionOptions.address || DEFAULT_TEMPORAL_ADDRESS;
  const namespace = connect.namespace || DEFAULT_TEMPORAL_NAMESPACE;
  const connectionOptions: TemporalConnectionOptions = { address };
  if (connect.connectionOptions.tls !== undefined) connectionOptions.tls = connect.connectionOptions.tls;
  if (connect.connectionOptions.apiKey) connectionOptions.apiKey = connect.connectionOptions.apiKey;
  if (connect.connectionOptions.metadata && Object.keys(connect.connectionOptions.metadata).length > 0) {
    connectionOptions.metadata = connect.connectionOptions.metadata;
  }
  return { address, namespace, connectionOptions, external };
}

/** A loggable one-liner, without secrets: "temporal.example:7233 namespace prod (TLS, API key)". */
export function describeTemporalSettings(settings: TemporalSettings): string {
  const extras: string[] = [];
  if (settings.connectionOptions.tls) extras.push('TLS');
  if (settings.connectionOptions.apiKey) extras.push('API key');
  return `${settings.address} namespace ${settings.namespace}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** The largest answer the client accepts from Temporal. */
const MAX_RECEIVE_BYTES = 128 * 1024 * 1024;

/** Connects a client; the error names the address when the server cannot be reached. */
export async function connectTemporal(
  settings: TemporalSettings,
  opts: { connectTimeoutMs?: number } = {},
): Promise<{ connection: Connection; client: Client }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...settings.connectionOptions,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      // A history page can hold signals of up to Temporal's payload limit each: gRPC's 4 MB default
      // would refuse the page the review needs (adapters/temporal/workflowHistory.ts pages small too).
      channelArgs: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES },
    });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${settings.address}: ${errorMessage(err)}`, { cause: err });
  }
  const client = new Client({ connection, namespace: settings.namespace });
  return { connection, client };
}

/** Connects a worker's native (Rust core) connection; the error names the address. */
export async function connectNativeConnection(settings: TemporalSettings): Promise<NativeConnection> {
  // Loaded lazily: @temporalio/worker brings the native core, which CLI-only commands do not need.
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    return await NativeConnection.connect({ ...settings.connectionOptions });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${settings.address}: ${errorMessage(err)}`, { cause: err });
  }
}

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.trim() || String(err);
}
