/** The trainer protocol read as it arrives: any split gives the same result, oversized and garbage lines are skipped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PROTOCOL_LINE_CHARS, parseProtocol, TrainerProtocolReader } from '../../adapters/training/trainerProtocolReader.js';

const OUTPUT = [
  '{"type":"started","rows":10}',
  '{"type":"progress","step":1,"total":2,"loss":0.7}',
  'Epoch 1 done',
  '{not json',
  '\u0000\u0001binary\u00ff',
  '{"type":"progress","step":2,"total":2,"loss":0.4}',
  '{"type":"metrics","auc":0.8,"note":"x"}',
  '{"type":"artifact","path":"/m/model.json"}',
  '',
].join('\n');

describe('TrainerProtocolReader', () => {
  it('reads the same whatever the pieces the output arrives in', () => {
    const whole = parseProtocol(OUTPUT);
    assert.deepEqual(whole, {
      progress: { type: 'progress', step: 2, total: 2, loss: 0.4 },
      metrics: { auc: 0.8 },
      artifactPath: '/m/model.json',
    });
    for (const size of [1, 2, 3, 7, 16, 64]) {
      const reader = new TrainerProtocolReader();
      for (let i = 0; i < OUTPUT.length; i += size) reader.push(OUTPUT.slice(i, i + size));
      assert.deepEqual(reader.end().fields, whole, `pieces of ${size}`);
    }
  });

  it('reads a line only once its newline arrives, and a last line without one at the end', () => {
    const reader = new TrainerProtocolReader().push('{"type":"artifact",');
    assert.deepEqual(reader.fields, {});
    reader.push('"path":"/a"}');
    assert.deepEqual(reader.fields, {}, 'no newline yet');
    assert.deepEqual(reader.end().fields, { artifactPath: '/a' }, 'the output ended: the last line counts');
  });

  it('skips a line longer than the bound without holding it, and says so', () => {
    const huge = `{"type":"metrics","values":[${'1,'.repeat(MAX_PROTOCOL_LINE_CHARS)}1]}`;
    const reader = new TrainerProtocolReader();
    reader.push('{"type":"progress","step":1,"total":3}\n');
    // Arrives in pieces, none with a newline until the end.
    for (let i = 0; i < huge.length; i += 10_000) reader.push(huge.slice(i, i + 10_000));
    reader.push('\n{"type":"artifact","path":"/after"}\n');
    reader.push(`${'x'.repeat(MAX_PROTOCOL_LINE_CHARS + 1)}\n`);
    reader.end();
    assert.deepEqual(reader.fields, { progress: { type: 'progress', step: 1, total: 3 }, artifactPath: '/after' });
    assert.equal(reader.oversizedLines, 2);
    assert.equal(reader.note(), '2 stdout lines were skipped for being longer than 64 KiB');
    assert.equal(new TrainerProtocolReader().push('{}\n').note(), undefined);
  });

  it("makes the trainer's error message safe to show", () => {
    const fields = parseProtocol(`{"type":"error","message":"\\u001b[31mboom\\u001b[0m ${'e'.repeat(2000)}"}\n`);
    assert.ok(fields.error!.startsWith('boom eee'), fields.error!.slice(0, 20));
    assert.equal(fields.error!.length, 500);
  });
});
