/**
 * The DSL's graph, after Kafka Streams' InternalStreamsBuilder and its GraphNodes: KStream,
 * KTable and friends only add nodes here; `build()` walks the nodes in the order they were
 * added (parents always before children) and emits Processor API nodes into a new Topology.
 * One runtime: the result is the Topology a user could have written by hand.
 */
import { TopologyError } from '../../framework/errors.ts';
import type {
  ProcessorSupplier,
  Record as StreamRecord,
  StoreBuilder,
} from '../../framework/processor.ts';
import type { Serde } from '../../framework/serdes.ts';
import {
  Topology,
  type OffsetReset,
  type StreamPartitioner,
  type TimestampExtractor,
  type TopicNameExtractor,
} from '../../framework/topology.ts';
import { filterProcessor } from './processors.ts';

export interface GraphNode {
  /** The Topology node downstream nodes connect to. */
  readonly name: string;
  emit(topology: Topology): void;
}

/** The serdes a stream or table knows for its keys and values, if any. */
export interface KnownSerdes<K, V> {
  readonly keySerde: Serde<K> | undefined;
  readonly valueSerde: Serde<V> | undefined;
}

const INDEX_DIGITS = 10;

export class InternalStreamsBuilder {
  readonly #nodes: GraphNode[] = [];
  readonly #names = new Set<string>();
  /** Stores added with `StreamsBuilder.addStateStore`, and the processors that use them. */
  readonly #userStores = new Map<string, { builder: StoreBuilder; processors: string[] }>();
  readonly #sourceTopics = new Map<string, string>();
  /** Topics the app names itself (sources and fixed sinks), and its repartition topics' names. */
  readonly #userTopics = new Set<string>();
  readonly #repartitionNames = new Set<string>();
  /** Processors that read stores another processor owns (joins reading a table's store). */
  readonly #connections: { processor: string; stores: readonly string[] }[] = [];
  #index = 0;

  /** `${prefix}${index}`, one counter for processors and stores, as Kafka Streams names them. */
  newProcessorName(prefix: string): string {
    return `${prefix}${String(this.#index++).padStart(INDEX_DIGITS, '0')}`;
  }

  /** e.g. `KSTREAM-AGGREGATE-STATE-STORE-0000000003`. */
  newStoreName(prefix: string): string {
    return `${prefix}STATE-STORE-${String(this.#index++).padStart(INDEX_DIGITS, '0')}`;
  }

  /** Checks a user-given or generated node name is new (Topology would fail later, less clearly). */
  claim(name: string, operator: string): string {
    if (typeof name !== 'string' || name === '') {
      throw new TopologyError(`${operator}: a name must be a non-empty string`);
    }
    if (this.#names.has(name)) {
      throw new TopologyError(`${operator}: a node named "${name}" already exists`);
    }
    this.#names.add(name);
    return name;
  }

  addSource<K, V>(
    name: string,
    options: {
      topics: readonly string[];
      keySerde: Serde<K>;
      valueSerde: Serde<V>;
      timestampExtractor?: TimestampExtractor<K, V> | undefined;
      offsetReset?: OffsetReset | undefined;
    },
  ): GraphNode {
    for (const topic of options.topics) {
      const other = this.#sourceTopics.get(topic);
      if (other !== undefined) {
        throw new TopologyError(
          `stream(${options.topics.join(', ')}): topic "${topic}" is already read by ${other}; read it once and reuse that stream`,
        );
      }
    }
    for (const topic of options.topics) {
      this.#sourceTopics.set(topic, name);
      this.#userTopics.add(topic);
    }
    return this.#add({
      name,
      emit: (topology) =>
        topology.addSource(name, {
          topics: options.topics,
          keySerde: options.keySerde,
          valueSerde: options.valueSerde,
          ...(options.timestampExtractor ? { timestampExtractor: options.timestampExtractor } : {}),
          ...(options.offsetReset ? { offsetReset: options.offsetReset } : {}),
        }),
    });
  }

  addProcessor(
    name: string,
    supplier: ProcessorSupplier<never, never, unknown, unknown>,
    parents: readonly GraphNode[],
    stores: readonly StoreBuilder[] = [],
    connectedStores: readonly string[] = [],
  ): GraphNode {
    for (const store of connectedStores) {
      const user = this.#userStores.get(store);
      if (user === undefined) {
        throw new TopologyError(
          `process() "${name}": unknown state store "${store}"; add it with builder.addStateStore() first`,
        );
      }
      user.processors.push(name);
    }
    return this.#add({
      name,
      emit: (topology) => {
        topology.addProcessor(name, supplier as ProcessorSupplier, ...parents.map((p) => p.name));
        for (const store of stores) topology.addStateStore(store, name);
      },
    });
  }

  addSink<K, V>(
    name: string,
    options: {
      topic: string | TopicNameExtractor<K, V>;
      keySerde: Serde<K>;
      valueSerde: Serde<V>;
      partitioner?: StreamPartitioner<K, V> | undefined;
    },
    parent: GraphNode,
  ): GraphNode {
    if (typeof options.topic === 'string') this.#userTopics.add(options.topic);
    return this.#add({
      name,
      emit: (topology) =>
        topology.addSink(
          name,
          {
            topic: options.topic,
            keySerde: options.keySerde,
            valueSerde: options.valueSerde,
            ...(options.partitioner ? { partitioner: options.partitioner } : {}),
          },
          parent.name,
        ),
    });
  }

  /**
   * sink → `${applicationId}-${name}-repartition` → source, as Kafka Streams'
   * OptimizableRepartitionNode: a filter first drops records with a null key (they cannot be
   * partitioned by key; Kafka Streams drops them the same way). Returns the source node.
   */
  addRepartition<K, V>(
    name: string,
    options: {
      keySerde: Serde<K>;
      valueSerde: Serde<V>;
      partitions?: number | undefined;
      partitioner?: StreamPartitioner<K, V> | undefined;
    },
    parent: GraphNode,
  ): GraphNode {
    this.#repartitionNames.add(name);
    const filter = this.claim(`${name}-repartition-filter`, 'repartition');
    const sink = this.claim(`${name}-repartition-sink`, 'repartition');
    const source = this.claim(`${name}-repartition-source`, 'repartition');
    return this.#add({
      name: source,
      emit: (topology) => {
        topology.addRepartitionTopic(
          name,
          options.partitions === undefined ? {} : { partitions: options.partitions },
        );
        topology.addProcessor(
          filter,
          filterProcessor(
            (record: StreamRecord<unknown, unknown>) =>
              record.key !== null && record.key !== undefined,
          ),
          parent.name,
        );
        topology.addSink(
          sink,
          {
            topic: name,
            keySerde: options.keySerde,
            valueSerde: options.valueSerde,
            ...(options.partitioner ? { partitioner: options.partitioner } : {}),
          },
          filter,
        );
        topology.addSource(source, {
          topics: [name],
          keySerde: options.keySerde,
          valueSerde: options.valueSerde,
        });
      },
    });
  }

  /** Connects a processor to stores added by other nodes (Topology.connectProcessorAndStateStores). */
  connect(processor: string, stores: readonly string[]): void {
    if (stores.length > 0) this.#connections.push({ processor, stores });
  }

  /**
   * A sink writing an internal topic `${applicationId}-${topic}-repartition`, without the
   * null-key filter of `addRepartition` (a foreign-key join's subscriptions and responses are
   * partitioned by what they carry, not by a key that may be null).
   */
  addInternalSink<K, V>(
    name: string,
    topic: string,
    options: {
      keySerde: Serde<K>;
      valueSerde: Serde<V>;
      partitioner?: StreamPartitioner<K, V> | undefined;
    },
    parents: readonly GraphNode[],
  ): GraphNode {
    this.#repartitionNames.add(topic);
    return this.#add({
      name,
      emit: (topology) => {
        topology.addRepartitionTopic(topic);
        topology.addSink(
          name,
          {
            topic,
            keySerde: options.keySerde,
            valueSerde: options.valueSerde,
            ...(options.partitioner ? { partitioner: options.partitioner } : {}),
          },
          ...parents.map((p) => p.name),
        );
      },
    });
  }

  /** The source reading an internal topic written by `addInternalSink`. */
  addInternalSource<K, V>(
    name: string,
    topic: string,
    options: { keySerde: Serde<K>; valueSerde: Serde<V> },
  ): GraphNode {
    return this.#add({
      name,
      emit: (topology) =>
        topology.addSource(name, {
          topics: [topic],
          keySerde: options.keySerde,
          valueSerde: options.valueSerde,
        }),
    });
  }

  /** A global store (Topology.addGlobalStore): its topic is read once, by every worker in full. */
  addGlobalStore<K, V>(
    sourceName: string,
    processorName: string,
    store: StoreBuilder,
    options: {
      topic: string;
      keySerde: Serde<K>;
      valueSerde: Serde<V>;
      timestampExtractor?: TimestampExtractor<K, V> | undefined;
      processor: ProcessorSupplier<K, V, never, never>;
    },
  ): void {
    const other = this.#sourceTopics.get(options.topic);
    if (other !== undefined) {
      throw new TopologyError(
        `globalTable(${options.topic}): topic "${options.topic}" is already read by ${other}; a topic is read once`,
      );
    }
    this.#sourceTopics.set(options.topic, sourceName);
    this.#userTopics.add(options.topic);
    this.#add({
      name: processorName,
      emit: (topology) =>
        topology.addGlobalStore(store, {
          topic: options.topic,
          keySerde: options.keySerde,
          valueSerde: options.valueSerde,
          ...(options.timestampExtractor ? { timestampExtractor: options.timestampExtractor } : {}),
          processor: options.processor,
          sourceName,
          processorName,
        }),
    });
  }

  addUserStore(builder: StoreBuilder): void {
    if (this.#userStores.has(builder.name)) {
      throw new TopologyError(`addStateStore: state store "${builder.name}" is already added`);
    }
    this.#userStores.set(builder.name, { builder, processors: [] });
  }

  build(): Topology {
    // Topology resolves a repartition topic's name wherever a source or sink names it, so a
    // user topic of the same name would be read or written as the internal topic.
    const clash = [...this.#repartitionNames].find((name) => this.#userTopics.has(name));
    if (clash !== undefined) {
      throw new TopologyError(
        `The repartition topic name "${clash}" is also a topic the app reads or writes; give the grouping or repartition() another name (Grouped/Repartitioned name)`,
      );
    }
    const topology = new Topology();
    for (const node of this.#nodes) node.emit(topology);
    for (const [name, { builder, processors }] of this.#userStores) {
      if (processors.length === 0) {
        throw new TopologyError(
          `State store "${name}" was added with addStateStore() but no process() uses it`,
        );
      }
      topology.addStateStore(builder, ...processors);
    }
    for (const { processor, stores } of this.#connections)
      topology.connectProcessorAndStateStores(processor, ...stores);
    return topology;
  }

  #add(node: GraphNode): GraphNode {
    if (!this.#names.has(node.name)) this.claim(node.name, 'DSL');
    this.#nodes.push(node);
    return node;
  }
}
