/**
 * kafkajs 2.2.4 groups a send's messages by partition in quadratic time
 * (producer/groupMessagesPerPartition.js copies the partition's array for
 * every message: `[...current, message]`), which a profile of a streamtx
 * worker showed as its most expensive function once transactions carried
 * thousands of records. This module puts a linear version, with the same
 * output (partition → messages, in send order), in kafkajs's place before
 * kafkajs loads: producer/sendMessages.js takes the function when it is
 * first required. Import it before 'kafkajs' (framework/client/kafkajs/
 * index.ts, client.ts and producer.ts do). If kafkajs was loaded earlier by
 * someone else, its own version stays and only speed differs.
 *
 * Module substitution, like the prototype patches of internals.ts, belongs
 * to the kafkajs version pinned in package.json; internals.ts checks it.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

interface PartitionerArgs {
  topic: string;
  partitionMetadata: unknown[];
  message: unknown;
}

function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: PartitionerArgs & {
  messages: unknown[];
  partitioner: (args: PartitionerArgs) => number;
}): Record<number, unknown[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, unknown[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
if (require.cache[path] === undefined) {
  const mod = new Module(path);
  mod.filename = path;
  mod.exports = groupMessagesPerPartition;
  mod.loaded = true;
  require.cache[path] = mod;
}
