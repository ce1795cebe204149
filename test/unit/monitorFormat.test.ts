/** The terminal output of `vigil monitor list` and `vigil monitor run`, and interval formatting. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMonitorList, formatOutcome } from '../../cli/monitorCommands.js';
import { formatInterval, validateEvery } from '../../client/monitorService.js';
import type { MonitorOutcome } from '../../contracts/monitorWorkflow.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');

describe('vigil monitor output', () => {
  it('lists each model with state, interval, next and last run', () => {
    const text = formatMonitorList(
      [
        {
          modelId: 'credit-risk',
          scheduleId: 'vigil-monitor-credit-risk',
          state: 'enabled',
          every: '20s',
          nextRunAt: '2026-01-01T12:00:12Z',
          lastRun: {
            workflowId: 'monitor-credit-risk-2026-01-01T11:59:52Z',
            runId: 'r',
            scheduledAt: '2026-01-01T11:59:52Z',
            startedAt: '2026-01-01T11:59:52Z',
            status: 'completed',
            outcome: { modelId: 'credit-risk', samples: 500, breaches: ['data_drift'], incidents: [] } as unknown as MonitorOutcome,
          },
          runningActions: 0,
          actionsTaken: 3,
        },
        { modelId: 'fraud', scheduleId: 'vigil-monitor-fraud', state: 'absent', runningActions: 0, actionsTaken: 0 },
      ],
      NOW,
    );
    const [header, first, second] = text.split('\n');
    assert.match(header!, /^MODEL +STATE +EVERY +NEXT RUN +LAST RUN +LAST STATUS +LAST BREACHES +RUNNING$/, header);
    assert.match(first!, /^credit-risk +enabled +20s +in 12s +8s ago +completed +data_drift +0$/, first);
    assert.match(second!, /^fraud +absent +- +- +- +- +- +0$/, second);
  });

  it('prints what a run found', () => {
    const o = {
      modelId: 'credit-risk',
      samples: 500,
      breaches: ['data_drift'],
      incidents: [{ id: 'incident-x', created: true, signal: 'data_drift' }],
    } as unknown as MonitorOutcome;
    assert.equal(formatOutcome(o), 'credit-risk: 500 samples, breaches: data_drift\n  opened incident-x (data_drift)', 'outcome text');
    assert.equal(formatOutcome({ ...o, breaches: [], incidents: [] }), 'credit-risk: 500 samples, no breaches', 'nothing found');
    const explained: MonitorOutcome = {
      ...o,
      reasons: ['max PSI 0.512 ≥ 0.2 on income (500 predictions)'],
      healthNotes: ['queue depth: the query returned no series'],
    };
    assert.equal(
      formatOutcome(explained),
      'credit-risk: 500 samples, breaches: data_drift\n  why: max PSI 0.512 ≥ 0.2 on income (500 predictions)\n  opened incident-x (data_drift)\n  health: queue depth: the query returned no series',
      'reasons and health notes',
    );
  });

  it('formats intervals exactly and validates --every', () => {
    assert.deepEqual([1000, 90_000, 3_600_000, 1500].map(formatInterval), ['1s', '90s', '1h', '1500ms'], 'intervals');
    assert.doesNotThrow(() => validateEvery('1s'), '1s is allowed');
    assert.throws(() => validateEvery('0.5s'), /--every "0.5s": must be at least 1s/, 'sub-second refused');
    assert.throws(() => validateEvery('10'), /--every "10": must be a duration/, 'bare number refused');
  });
});
