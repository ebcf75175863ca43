// Unit tests: kafkajs log entries become the adapter's ClientLogEntry, levels mapped and filtered.
import t from 'tap';
import kafkajs from 'kafkajs';
import type { ClientLogEntry, ClientLogLevel } from '../../../../framework/client/index.ts';
import { createLogCreator } from '../../../../framework/client/kafkajs/logging.ts';

const { logLevel } = kafkajs;

function feed(
  level: ClientLogLevel,
  lines: [number, string, string, Record<string, unknown>?][],
): { sunk: ClientLogEntry[]; tapped: ClientLogEntry[] } {
  const sunk: ClientLogEntry[] = [];
  const tapped: ClientLogEntry[] = [];
  const logger = createLogCreator(
    level,
    (e) => sunk.push(e),
    (e) => tapped.push(e),
  )(logLevel.DEBUG);
  for (const [entryLevel, namespace, message, extra] of lines)
    logger({
      namespace,
      level: entryLevel,
      label: '',
      log: { message, timestamp: 'now', logger: 'kafkajs', ...extra },
    });
  return { sunk, tapped };
}

t.test(
  "kafkajs's levels map one to one: ERROR→error, WARN→warn, INFO→info, DEBUG→debug",
  async (t) => {
    const { sunk } = feed('debug', [
      [logLevel.ERROR, 'Admin', 'a', { groupId: 'g' }],
      [logLevel.WARN, 'Consumer', 'b'],
      [logLevel.INFO, 'ConsumerGroup', 'c'],
      [logLevel.DEBUG, 'Cluster', 'd'],
    ]);
    t.same(
      sunk.map((e) => [e.level, e.namespace, e.message]),
      [
        ['error', 'Admin', 'a'],
        ['warn', 'Consumer', 'b'],
        ['info', 'ConsumerGroup', 'c'],
        ['debug', 'Cluster', 'd'],
      ],
    );
    t.same(
      sunk[0]!.extra,
      { groupId: 'g' },
      'what kafkajs logged with the line, without its timestamp',
    );
  },
);

t.test('the level filters; the adapter still sees every ERROR line', async (t) => {
  const lines: [number, string, string][] = [
    [logLevel.ERROR, 'Admin', 'e'],
    [logLevel.WARN, 'Admin', 'w'],
    [logLevel.INFO, 'Admin', 'i'],
  ];
  t.same(
    feed('warn', lines).sunk.map((e) => e.message),
    ['e', 'w'],
  );
  t.same(feed('nothing', lines).sunk, []);
  t.equal(feed('nothing', lines).tapped.length, 3, 'the tap watches regardless');
});

t.test('failures kafkajs retries, and the runtime reports itself, come at debug', async (t) => {
  const handled: [number, string, string][] = [
    [logLevel.ERROR, 'Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:1'],
    [logLevel.ERROR, 'Connection', 'Response Produce(key: 0, version: 7)'],
    [
      logLevel.ERROR,
      'BrokerPool',
      'Failed to connect to seed broker, trying another broker from the list: x',
    ],
    [logLevel.ERROR, 'Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded: x'],
    [logLevel.ERROR, 'Producer', 'Failed to send messages: x'],
    [
      logLevel.WARN,
      'Producer',
      'Limiting retries for the idempotent producer may invalidate EoS guarantees',
    ],
    [
      logLevel.ERROR,
      'SaslAuthenticator-SCRAM-SHA-512',
      'SASL SCRAM SHA512 authentication failed: x',
    ],
  ];
  t.same(feed('info', handled).sunk, [], 'not at info');
  t.same(
    feed('debug', handled).sunk.map((e) => e.level),
    handled.map(() => 'debug'),
  );
  t.same(
    feed('info', [
      [
        logLevel.ERROR,
        'Runner',
        'The coordinator is not aware of this member, re-joining the group',
      ],
    ]).sunk.map((e) => e.level),
    ['error'],
    'other ERROR lines stay errors',
  );
});
