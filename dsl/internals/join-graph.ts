/**
 * How each join becomes Processor API nodes, after Kafka Streams' KStreamImplJoin,
 * KStreamImpl#doStreamTableJoin / #globalTableJoin and KTableImpl#doJoin / #doJoinOnForeignKey.
 * The public operators (KStream, KTable) check their arguments and wrap the states returned here.
 *
 * Co-partitioning: a side whose key may have changed is repartitioned first; the repartition
 * topic takes the other side's partition count (framework/runtime/internal-topics.ts). Sides
 * read from user topics must already be co-partitioned: the app checks at start and fails
 * naming the topics and their counts.
 */
import { TopologyError } from '../../framework/errors.ts';
import type { ProcessorSupplier } from '../../framework/processor.ts';
import { Serdes, type Serde } from '../../framework/serdes.ts';
import type { StreamPartitioner } from '../../framework/topology.ts';
import { Stores } from '../../stores/stores.ts';
import type { Materialized, StreamJoined, TableJoined } from '../options.ts';
import type { JoinWindows } from '../windows.ts';
import {
  checkStoreKind,
  keyValueStoreFor,
  requireSerde,
  type StreamState,
  type TableState,
} from './common.ts';
import {
  foreignTableJoin,
  responseJoin,
  responseSerde,
  subscriptionJoin,
  subscriptionSend,
  subscriptionSerde,
} from './foreign-key.ts';
import {
  listSerde,
  streamJoinSide,
  streamTableJoin,
  tableJoinSide,
  tableJoinValueGetter,
  type Joiner,
  type TableJoinKind,
} from './joins.ts';
import { passThrough } from './processors.ts';
import {
  storeValueGetter,
  tableSource,
  tableTransform,
  type ValueGetterSupplier,
} from './table.ts';

type AnyStream = StreamState<unknown, unknown>;
type AnyTable = TableState<unknown, unknown>;
type Supplier = ProcessorSupplier<never, never>;

function sameBuilder(operator: string, a: { builder: unknown }, b: { builder: unknown }): void {
  if (a.builder !== b.builder) {
    throw new TopologyError(`${operator}: both sides must come from the same StreamsBuilder`);
  }
}

/** The stream itself, or — after a key change — its repartition `${name}` (Kafka Streams' repartitionForJoin). */
function repartitionedForJoin(
  state: AnyStream,
  name: string,
  operator: string,
  keySerde: Serde<unknown> | undefined,
  valueSerde: Serde<unknown> | undefined,
  hint: string,
): AnyStream {
  if (!state.repartitionRequired) return state;
  const keys = requireSerde(
    keySerde,
    `${operator} (repartition after a key change)`,
    'keySerde',
    hint,
  );
  const values = requireSerde(
    valueSerde,
    `${operator} (repartition after a key change)`,
    'valueSerde',
    hint,
  );
  const node = state.builder.addRepartition(
    name,
    { keySerde: keys, valueSerde: values },
    state.node,
  );
  return {
    builder: state.builder,
    node,
    serdes: { keySerde: keys, valueSerde: values },
    repartitionRequired: false,
  };
}

export type StreamJoinKind = 'inner' | 'left' | 'outer';

/**
 * KStream–KStream: each side buffers its records in a changelogged window store (one list of
 * values per key and timestamp) and joins the other side's; left/outer joins hold unmatched
 * records in a shared outer store until their window closes.
 */
export function streamStreamJoin(
  left: AnyStream,
  right: AnyStream,
  joiner: Joiner,
  windows: JoinWindows,
  kind: StreamJoinKind,
  joined: StreamJoined<unknown, unknown, unknown>,
): AnyStream {
  const operator = `${kind === 'inner' ? 'join' : `${kind}Join`}(stream, windows)`;
  sameBuilder(operator, left, right);
  if (windows?.kind !== 'join') {
    throw new TopologyError(
      `${operator}: the third argument must be JoinWindows (e.g. JoinWindows.ofTimeDifference(ms))`,
    );
  }
  checkStoreKind(operator, joined.storeKind);
  const { builder } = left;
  const leftOuter = kind !== 'inner';
  const rightOuter = kind === 'outer';
  const hint = 'StreamJoined { keySerde, valueSerde, otherValueSerde }';
  const keySerde = requireSerde(
    joined.keySerde ?? left.serdes.keySerde ?? right.serdes.keySerde,
    operator,
    'keySerde',
    hint,
  );
  const leftValueSerde = requireSerde(
    joined.valueSerde ?? left.serdes.valueSerde,
    operator,
    'valueSerde',
    hint,
  );
  const rightValueSerde = requireSerde(
    joined.otherValueSerde ?? right.serdes.valueSerde,
    `${operator} (the other stream)`,
    'valueSerde',
    'StreamJoined { otherValueSerde }',
  );
  const base = joined.name;
  const thisSide = repartitionedForJoin(
    left,
    `${base ?? left.node.name}-left`,
    operator,
    keySerde,
    leftValueSerde,
    hint,
  );
  const otherSide = repartitionedForJoin(
    right,
    `${base ?? right.node.name}-right`,
    operator,
    keySerde,
    rightValueSerde,
    'StreamJoined { keySerde, otherValueSerde }',
  );
  const thisGenerated = builder.newProcessorName(
    rightOuter ? 'KSTREAM-OUTERTHIS-' : 'KSTREAM-JOINTHIS-',
  );
  const otherGenerated = builder.newProcessorName(
    leftOuter ? 'KSTREAM-OUTEROTHER-' : 'KSTREAM-JOINOTHER-',
  );
  const thisSuffix = rightOuter ? '-outer-this-join' : '-this-join';
  const otherSuffix = leftOuter ? '-outer-other-join' : '-other-join';
  const thisName = builder.claim(base ? `${base}${thisSuffix}` : thisGenerated, operator);
  const otherName = builder.claim(base ? `${base}${otherSuffix}` : otherGenerated, operator);
  const mergeName = builder.claim(
    base ? `${base}-merge` : builder.newProcessorName('KSTREAM-MERGE-'),
    operator,
  );
  const storeBase = joined.storeName;
  const thisStore = storeBase ? `${storeBase}${thisSuffix}-store` : `${thisGenerated}-store`;
  const otherStore = storeBase ? `${storeBase}${otherSuffix}-store` : `${otherGenerated}-store`;
  const outerStore = !leftOuter
    ? undefined
    : storeBase
      ? `${storeBase}-outer-shared-join-store`
      : `${thisGenerated.replace(/JOINTHIS|OUTERTHIS/, 'OUTERSHARED')}-store`;
  const persistent = (joined.storeKind ?? 'sqlite') === 'sqlite';
  const logging = joined.logging ?? true;
  const sizeMs = windows.sizeMs;
  // A record is needed until the latest partner it could have is late: before + after + grace.
  const windowStore = (name: string, valueSerde: Serde<unknown>) =>
    Stores.window(name, {
      keySerde,
      valueSerde: listSerde(valueSerde),
      windowSizeMs: Math.max(1, sizeMs),
      retentionMs: Math.max(1, sizeMs) + windows.graceMs + 1,
      persistent,
      logging,
    });
  const common = {
    outerStore,
    beforeMs: windows.beforeMs,
    afterMs: windows.afterMs,
    graceMs: windows.graceMs,
    keySerde,
    leftValueSerde,
    rightValueSerde,
    joiner,
  };
  const thisNode = builder.addProcessor(
    thisName,
    streamJoinSide({
      ...common,
      side: 'left',
      thisStore,
      otherStore,
      outer: leftOuter,
    }) as Supplier,
    [thisSide.node],
    [windowStore(thisStore, leftValueSerde)],
  );
  const otherNode = builder.addProcessor(
    otherName,
    streamJoinSide({
      ...common,
      side: 'right',
      thisStore: otherStore,
      otherStore: thisStore,
      outer: rightOuter,
    }) as Supplier,
    [otherSide.node],
    [
      windowStore(otherStore, rightValueSerde),
      ...(outerStore === undefined
        ? []
        : [
            Stores.keyValue(outerStore, {
              keySerde: Serdes.bytes(),
              valueSerde: listSerde(Serdes.bytes()),
              persistent,
              logging,
            }),
          ]),
    ],
  );
  builder.connect(thisName, outerStore === undefined ? [otherStore] : [otherStore, outerStore]);
  builder.connect(otherName, [thisStore]);
  const merge = builder.addProcessor(mergeName, passThrough as Supplier, [thisNode, otherNode]);
  return {
    builder,
    node: merge,
    serdes: { keySerde, valueSerde: undefined },
    repartitionRequired: false,
  };
}

/** KStream–KTable (and KStream–GlobalKTable, with a key selector and no repartition). */
export function streamTableJoinNode(
  stream: AnyStream,
  options: {
    operator: string;
    name: string | undefined;
    leftJoin: boolean;
    joiner: Joiner;
    getter: ValueGetterSupplier<unknown, unknown>;
    /** For global tables: the table key of a record (no repartition, no store connection). */
    keySelector?: (key: unknown, value: unknown) => unknown;
    repartition?: { keySerde: Serde<unknown> | undefined; valueSerde: Serde<unknown> | undefined };
  },
): AnyStream {
  const { builder } = stream;
  const name = builder.claim(
    options.name ??
      builder.newProcessorName(options.leftJoin ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-'),
    options.operator,
  );
  const input =
    options.repartition === undefined
      ? stream
      : repartitionedForJoin(
          stream,
          `${options.name ?? stream.node.name}-left`,
          options.operator,
          options.repartition.keySerde ?? stream.serdes.keySerde,
          options.repartition.valueSerde ?? stream.serdes.valueSerde,
          'Joined { keySerde, valueSerde }',
        );
  const node = builder.addProcessor(
    name,
    streamTableJoin({
      getter: options.getter,
      leftJoin: options.leftJoin,
      joiner: options.joiner,
      ...(options.keySelector ? { keySelector: options.keySelector } : {}),
    }) as Supplier,
    [input.node],
  );
  builder.connect(name, options.getter.storeNames);
  return {
    builder,
    node,
    serdes: { keySerde: input.serdes.keySerde, valueSerde: undefined },
    repartitionRequired: input.repartitionRequired,
  };
}

function requireGetter(
  table: AnyTable,
  operator: string,
  which: string,
): ValueGetterSupplier<unknown, unknown> {
  const getter = table.valueGetter;
  if (getter === undefined) {
    throw new TopologyError(
      `${operator}: the ${which} table cannot be looked up by key (a suppressed table keeps no current value); join the table before suppress()`,
    );
  }
  return getter;
}

/** KTable–KTable: each side's updates meet the other side's current value; results carry old values. */
export function tableTableJoin(
  left: AnyTable,
  right: AnyTable,
  joiner: Joiner,
  kind: 'inner' | 'left' | 'outer',
  name: string | undefined,
  materialized: Materialized<unknown, unknown> | undefined,
): AnyTable {
  const operator = `KTable.${kind === 'inner' ? 'join' : `${kind}Join`}()`;
  sameBuilder(operator, left, right);
  const { builder } = left;
  const leftGetter = requireGetter(left, operator, 'this');
  const rightGetter = requireGetter(right, operator, 'other');
  const prefix = kind === 'inner' ? 'JOIN' : kind === 'left' ? 'LEFT' : 'OUTER';
  const thisName = builder.claim(
    name ? `${name}-join-this` : builder.newProcessorName(`KTABLE-${prefix}THIS-`),
    operator,
  );
  const otherName = builder.claim(
    name ? `${name}-join-other` : builder.newProcessorName(`KTABLE-${prefix}OTHER-`),
    operator,
  );
  const mergeName = builder.claim(name ?? builder.newProcessorName('KTABLE-MERGE-'), operator);
  const thisKind: TableJoinKind = kind;
  const otherKind: TableJoinKind = kind === 'left' ? 'right' : kind;
  const thisNode = builder.addProcessor(
    thisName,
    tableJoinSide(thisKind, rightGetter, (v, o, k) => joiner(v, o, k)) as Supplier,
    [left.node],
  );
  const otherNode = builder.addProcessor(
    otherName,
    tableJoinSide(otherKind, leftGetter, (v, o, k) => joiner(o, v, k)) as Supplier,
    [right.node],
  );
  builder.connect(thisName, rightGetter.storeNames);
  builder.connect(otherName, leftGetter.storeNames);
  const keySerde = materialized?.keySerde ?? left.serdes.keySerde ?? right.serdes.keySerde;
  let storeName: string | undefined;
  const stores = [];
  if (materialized !== undefined) {
    storeName = materialized.storeName ?? builder.newStoreName(`KTABLE-${prefix}-`);
    stores.push(
      keyValueStoreFor(
        operator,
        storeName,
        materialized,
        requireSerde(keySerde, operator, 'keySerde', 'Materialized'),
        requireSerde(
          materialized.valueSerde,
          operator,
          'valueSerde',
          'Materialized { valueSerde } (the joined type)',
        ),
      ),
    );
  }
  const merge = builder.addProcessor(
    mergeName,
    (storeName === undefined ? passThrough : tableTransform((_k, v) => v, storeName)) as Supplier,
    [thisNode, otherNode],
    stores,
  );
  return {
    builder,
    node: merge,
    serdes: { keySerde, valueSerde: materialized?.valueSerde },
    repartitionRequired: false,
    valueGetter:
      storeName !== undefined
        ? storeValueGetter(storeName)
        : tableJoinValueGetter(kind, leftGetter, rightGetter, joiner),
    windowClose: undefined,
  };
}

/** The foreign-key join of KIP-213 (see foreign-key.ts for the flow). */
export function foreignKeyJoin(
  left: AnyTable,
  right: AnyTable,
  extractor: (value: unknown, key: unknown) => unknown,
  joiner: Joiner,
  leftJoin: boolean,
  tableJoined: TableJoined<unknown>,
  materialized: Materialized<unknown, unknown> | undefined,
): AnyTable {
  const operator = `KTable.${leftJoin ? 'leftJoin' : 'join'}(table, foreignKeyExtractor)`;
  sameBuilder(operator, left, right);
  const { builder } = left;
  const primary = requireGetter(left, operator, 'this');
  const foreign = requireGetter(right, operator, 'other');
  const primaryKeySerde = requireSerde(
    left.serdes.keySerde,
    operator,
    'keySerde',
    "the table's Consumed or Materialized",
  );
  const primaryValueSerde = requireSerde(
    left.serdes.valueSerde,
    `${operator} (the hash of this table's values)`,
    'valueSerde',
    "this table's Materialized",
  );
  const foreignKeySerde = requireSerde(
    right.serdes.keySerde,
    `${operator} (the foreign keys)`,
    'keySerde',
    "the other table's Consumed or Materialized",
  );
  const foreignValueSerde = requireSerde(
    right.serdes.valueSerde,
    `${operator} (the other table's values)`,
    'valueSerde',
    "the other table's Materialized",
  );
  const resultSerde = requireSerde(
    materialized?.valueSerde,
    operator,
    'valueSerde',
    'Materialized { valueSerde } (the joined type: the result is kept in a store so its old values reach downstream operators)',
  );
  const base = builder.claim(
    tableJoined.name ?? builder.newProcessorName('KTABLE-FK-JOIN-'),
    operator,
  );
  const named = (suffix: string) => builder.claim(`${base}-${suffix}`, operator);
  const registration = `${base}-subscription-registration`;
  const responses = `${base}-subscription-response`;
  const topic = `${base}`;
  const sendName = named('subscription-send');
  const registrationSink = named('subscription-registration-sink');
  const responseJoinName = named('response-join');
  const send = builder.addProcessor(
    sendName,
    subscriptionSend({
      extractor,
      leftJoin,
      primaryKeySerde,
      primaryValueSerde,
      foreignKeySerde,
      sinkChild: registrationSink,
      localChild: responseJoinName,
      topic,
    }) as Supplier,
    [left.node],
  );
  const otherPartitioner = tableJoined.otherPartitioner;
  builder.addInternalSink(
    registrationSink,
    registration,
    {
      keySerde: foreignKeySerde,
      valueSerde: subscriptionSerde,
      ...(otherPartitioner
        ? { partitioner: otherPartitioner as StreamPartitioner<unknown, unknown> }
        : {}),
    },
    [send],
  );
  const registrationSource = builder.addInternalSource(
    named('subscription-registration-source'),
    registration,
    {
      keySerde: Serdes.bytes(),
      valueSerde: subscriptionSerde,
    },
  );
  const subscriptionStore = `${base}-subscription-store`;
  const joinNode = builder.addProcessor(
    named('subscription-join'),
    subscriptionJoin({ storeName: subscriptionStore, foreign, foreignKeySerde, topic }) as Supplier,
    [registrationSource],
    [
      Stores.timestampedKeyValue(subscriptionStore, {
        keySerde: Serdes.bytes(),
        valueSerde: subscriptionSerde,
      }),
    ],
  );
  builder.connect(joinNode.name, foreign.storeNames);
  const foreignNode = builder.addProcessor(
    named('foreign-table-join'),
    foreignTableJoin({ storeName: subscriptionStore, foreignKeySerde, topic }) as Supplier,
    [right.node],
  );
  builder.connect(foreignNode.name, [subscriptionStore]);
  const wrapped = responseSerde(foreignValueSerde);
  builder.addInternalSink(
    named('subscription-response-sink'),
    responses,
    {
      keySerde: Serdes.bytes() as Serde<unknown>,
      valueSerde: wrapped,
      // KIP-775: back to the partition the left row came from, however its topic is partitioned.
      partitioner: (_topic, _key, value) => value.primaryPartition,
    },
    [joinNode, foreignNode],
  );
  const responseSource = builder.addInternalSource(
    named('subscription-response-source'),
    responses,
    {
      keySerde: primaryKeySerde,
      valueSerde: wrapped,
    },
  );
  const resolve = builder.addProcessor(
    responseJoinName,
    responseJoin({ primary, primaryValueSerde, leftJoin, joiner, topic }) as Supplier,
    [responseSource, send],
  );
  builder.connect(responseJoinName, primary.storeNames);
  const resultStore = materialized?.storeName ?? builder.newStoreName('KTABLE-FK-JOIN-OUTPUT-');
  const result = builder.addProcessor(
    named('result'),
    tableSource(resultStore) as Supplier,
    [resolve],
    [keyValueStoreFor(operator, resultStore, materialized, primaryKeySerde, resultSerde)],
  );
  return {
    builder,
    node: result,
    serdes: { keySerde: primaryKeySerde, valueSerde: resultSerde },
    repartitionRequired: false,
    valueGetter: storeValueGetter(resultStore),
    windowClose: undefined,
  };
}
