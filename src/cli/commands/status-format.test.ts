import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildStatusReport, parseAgentStatus, type StatusInput } from '../../core/status-report.ts';
import { agentShort, formatStatusTable } from './status.ts';

const NOW = Date.UTC(2026, 10, 30, 15, 0, 0);
const A = '00000000000000a1';
const B = '00000000000000b2';

function input(): StatusInput {
  return {
    instances: [
      { id: 'i-1', privateIp: '10.0.0.1' },
      { id: 'i-2', privateIp: '10.0.0.2' },
    ],
    members: [
      {
        id: A,
        name: 'i-1',
        peerUrls: ['http://10.0.0.1:2380'],
        clientUrls: ['http://10.0.0.1:2379'],
        isLearner: false,
      },
      {
        id: B,
        name: 'i-2',
        peerUrls: ['http://10.0.0.2:2380'],
        clientUrls: ['http://10.0.0.2:2379'],
        isLearner: false,
      },
    ],
    statuses: {
      [A]: { leaderId: A, raftIndex: 42, raftTerm: 3, dbSize: 20_480, errors: [], version: '3.4.23' },
      [B]: { error: 'http://10.0.0.2:2379: connection refused' },
    },
    agents: {
      'i-1': parseAgentStatus(
        {
          self: { instanceId: 'i-1' },
          cycle: 7,
          lastCycle: { at: NOW - 1000, plan: [{ action: 'wait', reason: 'cluster x: converged' }] },
          termination: {
            notices: [{ source: 'spot-api', seenAt: NOW - 5000, deadline: NOW + 42_000 }],
            errors: [],
          },
          lastError: null,
        },
        'i-1',
      ),
      'i-2': { error: 'http://10.0.0.2:2378/v1/status: connection refused' },
    },
  };
}

test('parseAgentStatus: the decision is the first non-wait action; notices keep their deadlines; another agent at the IP is an error', () => {
  const a = parseAgentStatus(
    {
      self: { instanceId: 'i-1' },
      cycle: 3,
      lastCycle: {
        at: 5,
        plan: [
          { action: 'move-leader', reason: 'hand over' },
          { action: 'remove-member', reason: 'leave' },
        ],
        observation: { local: { left: { at: 4, reason: 'notice' } } },
      },
      termination: {
        notices: [
          { source: 'operator-drain', seenAt: 1 },
          { source: 'imds-rebalance', seenAt: 2, advisory: true },
        ],
      },
      lastError: { at: 5, error: 'boom' },
    },
    'i-1',
  );
  assert.deepEqual(a, {
    cycle: 3,
    at: 5,
    decision: { action: 'move-leader', reason: 'hand over' },
    notices: [{ source: 'operator-drain', seenAt: 1 }],
    left: { at: 4, reason: 'notice' },
    lastError: 'boom',
  });
  assert.deepEqual(parseAgentStatus({ self: { instanceId: 'i-9' } }, 'i-1'), {
    error: 'another agent (i-9) answers at this IP',
  });
  assert.deepEqual(parseAgentStatus('x', 'i-1'), {
    error: 'the status endpoint did not answer with a JSON object',
  });
});

test('agentShort names what the agent does in a few words', () => {
  const r = buildStatusReport(input());
  assert.equal(agentShort(r.rows[0]!.agent, NOW), 'leaving (spot-api, 42s left)');
  assert.equal(agentShort(r.rows[1]!.agent, NOW), 'unknown');
  assert.equal(
    agentShort({ cycle: 2, notices: [], decision: { action: 'wait', reason: 'converged' } }, NOW),
    'converged',
  );
  assert.equal(
    agentShort({ cycle: 2, notices: [], decision: { action: 'add-self-as-learner', reason: 'x' } }, NOW),
    'add-self-as-learner',
  );
  assert.equal(agentShort(undefined, NOW), '-');
});

test('status table, wide and --no-headers (snapshots): unreachable members are rows, term/version/SI size/agent shown', () => {
  const r = buildStatusReport(input());
  assert.equal(
    formatStatusTable(r, { now: NOW }),
    [
      'INSTANCE  PRIVATE IP  MEMBER ID         NAME  ROLE      HEALTHY  RAFT TERM  RAFT INDEX  VERSION  DB SIZE  AGENT                         PROBLEM',
      'i-1       10.0.0.1    00000000000000a1  i-1   leader    yes      3          42          3.4.23   20 kB    leaving (spot-api, 42s left)',
      'i-2       10.0.0.2    00000000000000b2  i-2   follower  no       -          -           -        -        unknown                       unreachable',
      '',
      '2 voter(s), 0 learner(s), leader 00000000000000a1; 1 problem(s):',
      '  - unreachable: i-2: http://10.0.0.2:2379: connection refused',
    ].join('\n'),
  );
  const wide = formatStatusTable(r, { now: NOW, wide: true }).split('\n');
  assert.match(wide[0]!, /AGENT\s+PROBLEM\s+LAST DECISION\s+NOTICE$/);
  assert.match(
    wide[1]!,
    /wait: cluster x: converged\s+spot-api, deadline 2026-11-30T15:00:42\.000Z \(in 42s\)$/,
  );
  assert.match(wide[2]!, /unreachable\s+http:\/\/10\.0\.0\.2:2378\/v1\/status: connection refused\s+-$/);
  assert.equal(
    formatStatusTable(r, { now: NOW, noHeaders: true }),
    [
      'i-1  10.0.0.1  00000000000000a1  i-1  leader    yes  3  42  3.4.23  20 kB  leaving (spot-api, 42s left)',
      'i-2  10.0.0.2  00000000000000b2  i-2  follower  no   -  -   -       -      unknown                       unreachable',
    ].join('\n'),
  );
});
