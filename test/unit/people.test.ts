/**
 * People and groups (config `people`): a person's names (id, Slack id, email) lead to one person, groups
 * and `$USER` in approver lists are resolved when approval is requested (by the worker's notifier), and
 * the config refuses names that would make one vote count for two people or a group nobody is in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withPeopleResolution } from '../../adapters/notify/peopleNotifier.js';
import { API_TOKEN_ENV, API_URL_ENV, decisionApiFromEnv } from '../../cli/decisionApi.js';
import { parseConfig, type VigilConfig } from '../../domain/config.js';
import type { IncidentState } from '../../domain/incident.js';
import { approverNames, LOCAL_USER_PLACEHOLDER, personOf, type Person } from '../../domain/people.js';
import type { Notifier } from '../../ports/notifier.js';
import { configError } from '../support/configError.js';

const MODEL = { id: 'fraud-scorer', displayName: 'Fraud scorer', tier: 'critical', approvers: ['alice'] } as const;
const PEOPLE = [
  { id: 'alice', slack: 'U0ALICE', email: 'Alice@Example.com', groups: ['ml-leads'] },
  { id: 'bob', slack: 'U0BOB', groups: ['ml-leads', 'oncall'] },
  { id: 'carol' },
];
const people = (): Person[] => parseConfig({ models: [MODEL], people: PEOPLE }).people;

describe('people', () => {
  it('finds the person behind any of their names; a name of no one is its own person', () => {
    const p = people();
    assert.equal(personOf(p, 'U0ALICE'), 'alice');
    assert.equal(personOf(p, 'alice'), 'alice');
    assert.equal(personOf(p, 'alice@example.com'), 'alice', 'emails compare without case');
    assert.equal(personOf(p, 'U0ZED'), 'U0ZED');
    assert.equal(personOf([], 'bob'), 'bob');
  });

  it('lists every name of every approver: groups expanded, people under each name, $USER as the operator only', () => {
    const p = people();
    assert.deepEqual(approverNames(p, ['group:ml-leads']), ['alice', 'U0ALICE', 'bob', 'U0BOB']);
    assert.deepEqual(approverNames(p, ['U0ALICE', 'carol', 'dave']), ['alice', 'U0ALICE', 'carol', 'dave']);
    assert.deepEqual(approverNames(p, [LOCAL_USER_PLACEHOLDER]), [], 'no operator: $USER is no one');
    assert.deepEqual(approverNames(p, [LOCAL_USER_PLACEHOLDER], { localOperator: 'carol' }), ['carol']);
  });

  it('config: people parse; approver lists may name groups people are in', () => {
    const config = parseConfig({
      models: [{ ...MODEL, approvers: ['group:ml-leads', 'U0ZED'], approversBySeverity: { SEV1: ['group:oncall'] } }],
      people: PEOPLE,
    });
    assert.deepEqual(
      config.people.map((x) => x.id),
      ['alice', 'bob', 'carol'],
    );
    assert.deepEqual(parseConfig({ models: [MODEL] }).people, [], 'people are optional: plain approver ids keep working');
  });

  it('config: refuses a group nobody is in, and a name given to two people, naming the field', () => {
    assert.deepEqual(configError({ models: [{ ...MODEL, approvers: ['bob', 'group:ml-laeds'] }], people: PEOPLE }).issues, [
      { path: 'models.0.approvers.1', message: 'no person is in group "ml-laeds" (people[].groups)' },
    ]);
    assert.deepEqual(configError({ models: [{ ...MODEL, approversBySeverity: { SEV1: ['group:leads'] } }] }).issues, [
      { path: 'models.0.approversBySeverity.SEV1.0', message: 'no person is in group "leads" (people[].groups)' },
    ]);
    assert.deepEqual(configError({ models: [MODEL], people: [...PEOPLE, { id: 'mallory', slack: 'U0ALICE' }] }).issues, [
      { path: 'people.3.slack', message: '"U0ALICE" is already alice\'s' },
    ]);
    assert.deepEqual(configError({ models: [MODEL], people: [{ id: 'alice' }, { id: 'alice' }] }).issues, [
      { path: 'people.1.id', message: 'duplicate person "alice"' },
    ]);
    assert.match(configError({ models: [MODEL], people: [{ id: 'group:x' }] }).issues[0]!.message, /must be letters, digits/);
    assert.equal(configError({ models: [MODEL], people: [{ id: 'bob', slack: 'bob' }] }).issues[0]!.path, 'people.0.slack');
  });
});

describe('approval request: approvers resolved by the worker, now', () => {
  const state = (approvers: string[]) =>
    ({ id: 'incident-1', approval: { approvers, quorum: 1, deadline: '', votes: [], escalated: false } }) as unknown as IncidentState;
  const silent = (approvers?: string[]): Notifier => ({
    approvalRequested: async () => (approvers ? { approvers } : {}),
    escalated: async () => undefined,
    phaseChanged: async () => undefined,
    reviewWritten: async () => undefined,
  });

  it('reads group membership at each request, not when the config loaded', async () => {
    const config: Pick<VigilConfig, 'people'> = { people: people() };
    const notifier = withPeopleResolution(silent(), { config });
    assert.deepEqual(await notifier.approvalRequested(state(['group:ml-leads'])), { approvers: ['alice', 'U0ALICE', 'bob', 'U0BOB'] });
    config.people.find((x) => x.id === 'carol')!.groups.push('ml-leads');
    assert.deepEqual(await notifier.approvalRequested(state(['group:ml-leads'])), { approvers: ['alice', 'U0ALICE', 'bob', 'U0BOB', 'carol'] });
  });

  it('$USER is the operator of the local stack, never whoever opened the incident; a production worker has none', async () => {
    const lines: string[] = [];
    const local = withPeopleResolution(silent(), { config: { people: [] }, localOperator: 'olivia' });
    assert.deepEqual(await local.approvalRequested(state([LOCAL_USER_PLACEHOLDER, 'ml-oncall'])), { approvers: ['olivia'] });
    const production = withPeopleResolution(silent(), { config: { people: [] }, log: (l) => lines.push(l) });
    assert.deepEqual(await production.approvalRequested(state([LOCAL_USER_PLACEHOLDER, 'ml-oncall'])), {});
    assert.match(lines.join('\n'), /"\$USER" in the approvers names no one outside the local stack/);
  });

  it("names Slack user groups' members by their person too, and asks nothing new of lists without people", async () => {
    const notifier = withPeopleResolution(silent(['U0BOB', 'U0ZED']), { config: { people: people() } });
    assert.deepEqual(await notifier.approvalRequested(state(['S0LEADS'])), { approvers: ['U0BOB', 'U0ZED', 'bob'] });
    assert.deepEqual(await withPeopleResolution(silent(), { config: { people: [] } }).approvalRequested(state(['alice', 'bob'])), {});
  });

  it("keeps the people it resolved when the channels' request fails for good", async () => {
    const failing: Notifier = { ...silent(), approvalRequested: async () => Promise.reject(new Error('slack is down')) };
    const lines: string[] = [];
    // Outside an activity the attempt counts as the last: the notification is given up, the approvers kept.
    const r = await withPeopleResolution(failing, { config: { people: people() }, log: (l) => lines.push(l) }).approvalRequested(state(['group:oncall']));
    assert.deepEqual(r, { approvers: ['bob', 'U0BOB'] });
    assert.match(lines.join('\n'), /slack is down/);
  });
});

describe('CLI decision API settings', () => {
  it('are off without VIGIL_API_URL, and name the variable that is wrong', () => {
    assert.equal(decisionApiFromEnv({}), undefined);
    assert.deepEqual(decisionApiFromEnv({ [API_URL_ENV]: 'https://vigil.example.com/', [API_TOKEN_ENV]: 'vigil_x' }), {
      baseUrl: 'https://vigil.example.com',
      token: 'vigil_x',
    });
    assert.throws(() => decisionApiFromEnv({ [API_URL_ENV]: 'https://vigil.example.com' }), /VIGIL_API_TOKEN is not set/);
    assert.throws(() => decisionApiFromEnv({ [API_URL_ENV]: 'vigil.example.com', [API_TOKEN_ENV]: 't' }), /VIGIL_API_URL: not a URL/);
    assert.throws(() => decisionApiFromEnv({ [API_URL_ENV]: 'ftp://vigil.example.com', [API_TOKEN_ENV]: 't' }), /VIGIL_API_URL: must be an http or https URL/);
  });
});
