/**
 * Replays workflow histories recorded from the lifecycle, canary and monitor tests (incidents and their
 * retrain children) against today's workflow code. A change
 * that would break running incidents fails here: guard it with `patched()`, or, when the change is
 * meant to apply to new incidents only, re-record with `npm run record-histories`. The bundle includes the
 * example team runbooks (examples/runbooks/), as a worker with that runbooks folder has them.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runbookFiles } from '../../adapters/runbooks/runbookFolder.js';
import { workflowBundle } from '../../workers/workflowBundle.js';
import { HISTORIES_DIR } from '../support/histories.js';

const EXAMPLE_RUNBOOKS = fileURLToPath(new URL('../../examples/runbooks/', import.meta.url));

const files = fs.existsSync(HISTORIES_DIR)
  ? fs
      .readdirSync(HISTORIES_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

describe('replay of recorded incident histories', () => {
  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 4, `expected recorded histories in ${HISTORIES_DIR}, found ${files.length}`);
  });

  it('replays every history without nondeterminism', async () => {
    const histories = files.map((f) => ({
      workflowId: path.basename(f, '.json'),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8'))),
    }));
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle(runbookFiles(EXAMPLE_RUNBOOKS)) }, histories)) {
      results.push({ id: r.workflowId, error: r.error ? String(r.error) : undefined });
    }
    assert.equal(results.length, files.length);
    assert.deepEqual(
      results.filter((r) => r.error),
      [],
    );
  });
});
