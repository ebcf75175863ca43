// The adapter's Produce request encoder writes exactly the bytes kafkajs's
// own encoder writes (framework/client/kafkajs/produce-encoder.ts); the
// integration tests then show brokers accept it.
import t from 'tap';
import {
  installedProduceRequest,
  kafkajsProduceRequest,
  type ProduceRequestArgs,
} from '../../../../framework/client/kafkajs/produce-encoder.ts';

const long = (n: number) => ({ toString: () => String(n) });

function request(overrides: Partial<ProduceRequestArgs> = {}): ProduceRequestArgs {
  const ts = (i: number) => String(1_733_000_000_000 + ((i * 7919) % 5000));
  return {
    acks: -1,
    timeout: 30_000,
    transactionalId: 'app-0_3',
    producerId: long(4242),
    producerEpoch: 7,
    compression: 0,
    topicData: [
      {
        topic: 'orders',
        partitions: [
          {
            partition: 3,
            firstSequence: 120,
            messages: Array.from({ length: 300 }, (_, i) => ({
              key: i % 5 === 0 ? null : `key-${i}`,
              value: i % 11 === 0 ? null : Buffer.from(`value-${'x'.repeat(i % 200)}-${i}`),
              timestamp: ts(i),
              headers:
                i % 3 === 0
                  ? { traceparent: `00-${i}`, multi: [Buffer.from('a'), 'bé'], empty: '' }
                  : {},
            })),
          },
          {
            partition: 0,
            firstSequence: 0,
            messages: [{ key: 'k', value: 'v', timestamp: ts(1) }],
          },
        ],
      },
      {
        topic: 'changelog',
        partitions: [
          {
            partition: 1,
            firstSequence: 5,
            messages: [{ key: Buffer.from([1, 2]), value: null, timestamp: ts(2) }],
          },
        ],
      },
    ],
    ...overrides,
  };
}

t.test('the encoder was put in kafkajs’s place', async (t) => {
  t.ok(kafkajsProduceRequest(), 'kafkajs’s own encoder was replaced');
  t.not(installedProduceRequest(), kafkajsProduceRequest());
});

t.test(
  'transactional, idempotent and plain requests are byte-identical to kafkajs’s',
  async (t) => {
    const ours = installedProduceRequest();
    const theirs = kafkajsProduceRequest()!;
    for (const [what, args] of [
      ['transactional', request()],
      ['idempotent, no transactional id', request({ transactionalId: null })],
      ['plain', request({ transactionalId: null, producerId: long(-1), producerEpoch: 0 })],
    ] as const) {
      const a = await ours(args).encode();
      const b = await theirs(args).encode();
      t.ok(a.buffer.equals(b.buffer), `${what}: ${a.buffer.length} bytes, identical`);
    }
    t.equal(ours(request()).apiVersion, 3);
  },
);

t.test('compressed batches are left to kafkajs’s encoder', async (t) => {
  const args = request({ compression: 1 });
  const a = await installedProduceRequest()(args).encode();
  const b = await kafkajsProduceRequest()!(args).encode();
  t.equal(a.buffer.length, b.buffer.length);
});
