/**
 * Trainer protocol v2's scoring output, checked against the task type (adapters/training/scoringOutput.ts):
 * every bad-output rule with its message; the scoring input CSV (RFC 4180 quoting, read back by the
 * CSV reader the example scorer uses); and how the backends tell a scoring job's success (`scored`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsvTable } from '../../adapters/files/csvTable.js';
import { missingResultError, parseProtocol, reportedResult } from '../../adapters/training/localProcessBackend.js';
import { rayJobStatus, type RayJobDetails } from '../../adapters/training/rayJobsBackend.js';
import { parseScoringOutput } from '../../adapters/training/scoringOutput.js';
import { scoringInputCsv } from '../../adapters/training/trainerScorer.js';
import { classifyTrainingFailure } from '../../adapters/training/trainingFailure.js';
import { TaskConfig } from '../../domain/task.js';
import { ScoringOutputError } from '../../ports/modelScorer.js';

const binary = TaskConfig.parse({ type: 'binary' });
const multiclass = TaskConfig.parse({ type: 'multiclass', classes: ['cat', 'dog', 7] });
const regression = TaskConfig.parse({ type: 'regression' });

const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('');

function rejects(text: string, task: TaskConfig, rows: number, message: string) {
  assert.throws(
    () => parseScoringOutput(text, task, rows),
    (err: unknown) => {
      assert.ok(err instanceof ScoringOutputError, `a ScoringOutputError, not ${String(err)}`);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe('scoring output: accepted', () => {
  it('reads one prediction per line, in order, for each task type', () => {
    assert.deepEqual(parseScoringOutput(lines('{"score":0.25}', '{"score":1}', '{"score":0}'), binary, 3), [{ score: 0.25 }, { score: 1 }, { score: 0 }]);
    assert.deepEqual(parseScoringOutput(lines('{"value":-3.5e10}', '{"value":0}'), regression, 2), [{ value: -3.5e10 }, { value: 0 }]);
    assert.deepEqual(
      parseScoringOutput(lines('{"label":"dog"}', '{"label":"7","probabilities":{"cat":0.1,"dog":0.2,"7":0.7}}', '{"label":7}'), multiclass, 3),
      [{ label: 'dog' }, { label: 7, probabilities: { cat: 0.1, dog: 0.2, '7': 0.7 } }, { label: 7 }],
    );
  });

  it('takes a last line without its line break, CRLF line ends, extra fields, and no rows at all', () => {
    assert.deepEqual(parseScoringOutput('{"score":0.5,"id":"r1"}\r\n{"score":0.5}', binary, 2), [{ score: 0.5 }, { score: 0.5 }]);
    assert.deepEqual(parseScoringOutput('', binary, 0), []);
  });
});

describe('scoring output: every bad-output rule names the line and the reason', () => {
  it('too few or too many lines', () => {
    rejects(lines('{"score":0.1}', '{"score":0.2}'), binary, 3, 'line 3: missing: 2 prediction lines for 3 input rows (one line per row, in order)');
    rejects('', binary, 1, 'line 1: missing: 0 prediction lines for 1 input rows (one line per row, in order)');
    rejects(
      lines('{"score":0.1}', '{"score":0.2}', '{"score":0.3}'),
      binary,
      2,
      'line 3: more prediction lines (3) than input rows (2); one line per row, in order',
    );
  });

  it('a line that is blank, not JSON, or not a JSON object', () => {
    rejects(lines('{"score":0.1}', '', '{"score":0.3}'), binary, 3, 'line 2: blank; expected a JSON object (one line per input row)');
    rejects(lines('{"score":0.1}', 'score=0.2'), binary, 2, 'line 2: not valid JSON: score=0.2');
    rejects(lines('[0.1]'), binary, 1, 'line 1: not a JSON object: [0.1]');
    rejects(lines('0.1'), binary, 1, 'line 1: not a JSON object: 0.1');
    rejects(lines('null'), binary, 1, 'line 1: not a JSON object: null');
  });

  it('binary: a missing, mistyped, non-finite or out-of-range score', () => {
    rejects(lines('{"label":1}'), binary, 1, 'line 1: "score" is missing (a prediction of this model is {"score": p})');
    rejects(lines('{"score":"0.3"}'), binary, 1, 'line 1: "score" is not a finite number (got the string "0.3")');
    rejects(lines('{"score":null}'), binary, 1, 'line 1: "score" is not a finite number (got null)');
    rejects(lines('{"score":0.1}', '{"score":NaN}'), binary, 2, 'line 2: "score" is not a finite number (NaN)');
    rejects(lines('{"score": Infinity}'), binary, 1, 'line 1: "score" is not a finite number (Infinity)');
    rejects(lines('{"score":-Infinity}'), binary, 1, 'line 1: "score" is not a finite number (-Infinity)');
    rejects(lines('{"score":1e999}'), binary, 1, 'line 1: "score" is not a finite number (Infinity)');
    rejects(lines('{"score":1.5}'), binary, 1, 'line 1: "score" 1.5 is outside [0, 1]');
    rejects(lines('{"score":-0.01}'), binary, 1, 'line 1: "score" -0.01 is outside [0, 1]');
  });

  it('regression: a missing, mistyped or non-finite value', () => {
    rejects(lines('{"score":0.4}'), regression, 1, 'line 1: "value" is missing (a prediction of this model is {"value": x})');
    rejects(lines('{"value":true}'), regression, 1, 'line 1: "value" is not a finite number (got boolean true)');
    rejects(lines('{"value":NaN}'), regression, 1, 'line 1: "value" is not a finite number (NaN)');
  });

  it('multiclass: a missing, mistyped or undeclared label; bad probabilities', () => {
    const declared = '("cat", "dog", 7)';
    rejects(lines('{"score":0.4}'), multiclass, 1, 'line 1: "label" is missing (a multiclass prediction is {"label": c, "probabilities"?: {…}})');
    rejects(lines('{"label":["cat"]}'), multiclass, 1, 'line 1: "label" is not a string or number (got an array)');
    rejects(lines('{"label":"cow"}'), multiclass, 1, `line 1: "label" "cow" is not a declared class ${declared}`);
    rejects(
      lines('{"label":"cat","probabilities":[0.5,0.5]}'),
      multiclass,
      1,
      'line 1: "probabilities" is not an object of class → probability (got an array)',
    );
    rejects(
      lines('{"label":"cat","probabilities":{"cat":0.5,"cow":0.5}}'),
      multiclass,
      1,
      `line 1: "probabilities" names "cow", not a declared class ${declared}`,
    );
    rejects(lines('{"label":"cat","probabilities":{"cat":NaN,"dog":0.5}}'), multiclass, 1, 'line 1: "probabilities"["cat"] is not a finite number (NaN)');
    rejects(lines('{"label":"cat","probabilities":{"cat":1.2,"dog":-0.2}}'), multiclass, 1, 'line 1: "probabilities"["cat"] 1.2 is outside [0, 1]');
    rejects(lines('{"label":"cat","probabilities":{"cat":0.5,"dog":0.3}}'), multiclass, 1, 'line 1: "probabilities" sum to 0.8, not 1 (± 0.01)');
  });
});

describe('scoring input CSV', () => {
  it('writes the features in order, quotes what needs quoting, and leaves missing values empty', () => {
    const rows = [
      { b: 'plain', a: 1.5, c: null },
      { a: -0, b: 'with, comma', c: 'say "hi"' },
      { a: 1e-7, b: 'two\nlines', c: true },
      { a: Number.NaN, b: ' padded ', c: undefined },
    ];
    const csv = scoringInputCsv(rows, ['a', 'b', 'c']);
    assert.equal(csv, 'a,b,c\n1.5,plain,\n0,"with, comma","say ""hi"""\n1e-7,"two\nlines",true\n," padded ",\n');
    const table = parseCsvTable(csv);
    assert.deepEqual(table.columns, ['a', 'b', 'c']);
    assert.equal(table.rows, 4);
    assert.deepEqual(table.cells.get('b'), ['plain', 'with, comma', 'two\nlines', 'padded']);
    assert.deepEqual(table.cells.get('c'), ['', 'say "hi"', 'true', '']);
  });

  it('refuses a value that is not a scalar, naming the row and feature', () => {
    assert.throws(() => scoringInputCsv([{ a: 1 }, { a: { x: 1 } }], ['a']), /row 2, feature "a": a object cannot be a CSV cell/);
  });
});

describe('scoring jobs in the backends', () => {
  it('recognises the `scored` line and requires it of a scoring job (not of a training job)', () => {
    const parsed = parseProtocol('{"type":"started","rows":2}\n{"type":"scored","jobId":"j","rows":2,"path":"/s/p.jsonl"}\n');
    assert.equal(parsed.outputPath, '/s/p.jsonl');
    assert.equal(reportedResult('score', parsed), true);
    assert.equal(reportedResult('train', parsed), false);
    assert.equal(reportedResult(undefined, { artifactPath: '/a/model.json' }), true);
    assert.equal(reportedResult('score', { artifactPath: '/a/model.json' }), false);
    assert.equal(missingResultError('score'), 'scorer exited 0 without a "scored" line');
    const failure = classifyTrainingFailure({ exitCode: 0, logs: '', job: 'score' });
    assert.equal(failure.kind, 'bad_exit');
    assert.match(failure.message, /^scorer exited 0 without a "scored" line — not retried: the trainer does not follow the protocol/);
  });

  it('Ray: a scoring job (metadata vigil_job_kind) that succeeds without `scored` failed', () => {
    const job = (kind: string): RayJobDetails => ({
      submission_id: 'j',
      status: 'SUCCEEDED',
      entrypoint: 'x',
      driver_exit_code: 0,
      metadata: { submitted_by: 'vigil', vigil_job_id: 'j', vigil_job_kind: kind },
    });
    const artifactOnly = '{"type":"artifact","path":"/a/model.json"}\n';
    const scored = '{"type":"scored","rows":1,"path":"/s/p.jsonl"}\n';
    assert.equal(rayJobStatus('j', job('score'), scored).state, 'succeeded');
    assert.equal(rayJobStatus('j', job('score'), scored).outputPath, '/s/p.jsonl');
    const failed = rayJobStatus('j', job('score'), artifactOnly);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error, 'scorer exited 0 without a "scored" line');
    assert.equal(failed.failure?.kind, 'bad_exit');
    assert.equal(rayJobStatus('j', job('train'), scored).state, 'failed', 'a training job still needs its artifact');
  });
});
