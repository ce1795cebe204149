/**
 * `vigil token create|list|revoke`: per-person tokens for the decision API. An admin's commands: they
 * need the database (DATABASE_URL, or the running local stack), nothing else. A token is printed once,
 * by create, on stdout alone (so `TOKEN=$(vigil token create --user alice)` works); only its digest is stored.
 */
import type { Command } from 'commander';
import type pg from 'pg';
import { createPool } from '../adapters/postgres/database.js';
import { createApiTokenStore } from '../adapters/postgres/apiTokenStore.js';
import { redactUrl } from '../adapters/net/redactUrl.js';
import type { VigilConfig } from '../domain/config.js';
import { UserInputError } from '../domain/errors.js';
import { PersonId } from '../domain/people.js';
import type { ApiTokenStore } from '../ports/apiTokens.js';
import { readStackFile, stackDatabaseUrl } from '../stack/stackFile.js';
import type { GlobalOptions } from './cliContext.js';
import { formatTable } from './formatTable.js';
import { loadConfig, resolveStateDir } from './loadConfig.js';

type Print = (json: boolean | undefined, value: unknown, human: () => string) => void;

/** PostgreSQL's "undefined_table": the database predates the tokens migration. */
const UNDEFINED_TABLE = '42P01';

async function withTokens<T>(globals: GlobalOptions, fn: (tokens: ApiTokenStore, config: VigilConfig) => Promise<T>): Promise<T> {
  const { config } = loadConfig(globals.config);
  const stateDir = resolveStateDir(config, globals.stateDir);
  const stack = process.env.DATABASE_URL ? undefined : readStackFile(stateDir, { log: (m) => console.error(`vigil: ${m}`) });
  const databaseUrl = process.env.DATABASE_URL ?? (stack ? stackDatabaseUrl(stack) : undefined);
  if (!databaseUrl) throw new Error(`no database: set DATABASE_URL, or start the local stack with \`vigil up\` (no ${stateDir}/stack.json)`);
  const pool: pg.Pool = createPool(databaseUrl, { max: 1, applicationName: 'vigil-token' });
  try {
    return await fn(createApiTokenStore(pool), config);
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) {
      throw new Error(
        `the database at ${redactUrl(databaseUrl)} has no api_tokens table yet: start \`vigil up\` or \`vigil worker\` of this version once (they migrate it)`,
      );
    }
    throw err;
  } finally {
    await pool.end();
  }
}

export function registerTokenCommands(program: Command, deps: { globals: () => GlobalOptions; print: Print }): void {
  const { globals, print } = deps;
  const token = program.command('token').description('per-person tokens for the decision API (admin: needs the database)');

  token
    .command('create')
    .description('create a token for a person; it is printed once, store it now')
    .requiredOption('--user <id>', 'the person the token speaks for (config people id)')
    .option('--json', 'print {"id", "user", "token"}')
    .action(async (opts: { user: string; json?: boolean }) => {
      const user = PersonId.safeParse(opts.user);
      if (!user.success) throw new UserInputError(`--user "${opts.user}": ${user.error.issues[0]?.message ?? 'invalid'}`);
      await withTokens(globals(), async (tokens, config) => {
        if (config.people.length && !config.people.some((p) => p.id === user.data)) {
          console.error(`vigil: note: "${user.data}" is not in the config's people: the token's person is "${user.data}" alone`);
        }
        const { info, token: secret } = await tokens.create(user.data);
        console.error(`vigil: token ${info.id} for ${info.user} created; it is shown once: store it now (VIGIL_API_TOKEN)`);
        print(opts.json, { id: info.id, user: info.user, token: secret }, () => secret);
      });
    });

  token
    .command('list')
    .description('tokens: id, person, created, last used, revoked (never the tokens themselves)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withTokens(globals(), async (tokens) => {
        const list = await tokens.list();
        print(opts.json, list, () =>
          formatTable(
            ['ID', 'USER', 'CREATED', 'LAST USED', 'REVOKED'],
            list.map((t) => [t.id, t.user, t.createdAt, t.lastUsedAt ?? '-', t.revokedAt ?? '-']),
          ),
        );
      });
    });

  token
    .command('revoke')
    .description('revoke a token: the API refuses it from now on (401)')
    .argument('<id>', 'token id (vigil token list)')
    .action(async (id: string) => {
      await withTokens(globals(), async (tokens) => {
        if (!(await tokens.revoke(id))) throw new UserInputError(`no live token "${id}" (vigil token list)`);
        console.log(`${id}: revoked`);
      });
    });
}
