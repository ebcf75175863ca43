// The word-count example's topology on the TopologyTestDriver.
import t from 'tap';
import { Serdes } from '../../framework/index.ts';
import { TopologyTestDriver } from '../../testkit/index.ts';
import { buildWordCountTopology } from '../../examples/word-count/app.ts';

t.test('word count: words are re-keyed through words-repartition and counted', async (t) => {
  const topology = buildWordCountTopology({ linesTopic: 'lines', countsTopic: 'counts' });
  t.match(
    topology.describe().toString(),
    /Sink: words-repartition-sink \(topic: words-repartition\)/,
  );
  const driver = new TopologyTestDriver(topology, { applicationId: 'wc' });
  t.teardown(() => driver.close());
  const lines = driver.createInputTopic('lines', Serdes.string(), Serdes.string());
  await lines.pipeInput('1', 'The sea, the SEA!');
  await lines.pipeInput('2', "it's the sea");
  t.same(
    driver.createOutputTopic('counts', Serdes.string(), Serdes.long()).readKeyValuesToMap(),
    new Map([
      ['the', 3],
      ['sea', 3],
      ["it's", 1],
    ]),
  );
  t.same(driver.getTimestampedKeyValueStore<string, number>('word-counts').get('sea')?.value, 3);
});
