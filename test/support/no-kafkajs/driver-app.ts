// Runs a TopologyTestDriver through the package root and the testkit entry,
// with kafkajs unresolvable (see register.mjs): prints the output it read.
import { Serdes, Stores, Topology, type Processor, type ProcessorContext } from '../../../index.ts';
import { TopologyTestDriver } from '../../../testkit/index.ts';
import type { KeyValueStore } from '../../../stores/index.ts';

const topology = new Topology()
  .addSource('in', { topics: ['words'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
  .addProcessor(
    'count',
    (): Processor<string, string, string, number> => {
      let ctx!: ProcessorContext<string, number>;
      let counts!: KeyValueStore<string, number>;
      return {
        init(c) {
          ctx = c;
          counts = c.getStateStore('counts');
        },
        process(r) {
          const n = (counts.get(r.value) ?? 0) + 1;
          counts.put(r.value, n);
          void ctx.forward({ ...r, key: r.value, value: n });
        },
      };
    },
    'in',
  )
  .addStateStore(
    Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }),
    'count',
  )
  .addSink(
    'out',
    { topic: 'counts', keySerde: Serdes.string(), valueSerde: Serdes.int32() },
    'count',
  );

const driver = new TopologyTestDriver(topology);
const input = driver.createInputTopic('words', Serdes.string(), Serdes.string());
const output = driver.createOutputTopic('counts', Serdes.string(), Serdes.int32());
for (const w of ['a', 'b', 'a']) await input.pipeInput(null, w);
process.stdout.write(JSON.stringify(output.readKeyValuesToList()) + '\n');
await driver.close();
