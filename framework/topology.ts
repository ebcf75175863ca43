import { TopologyError } from './errors.ts';
import { parseTaskId as parseTaskIdOf, repartitionTopic, taskId } from './names.ts';
import type { ProcessorSupplier, Record, StoreBuilder } from './processor.ts';
import type { Serde } from './serdes.ts';

/** Returns a record's event time (ms). `partitionTime` is the highest time seen on its partition. */
export type TimestampExtractor<K = unknown, V = unknown> = (
  record: Record<K, V>,
  partitionTime: number,
) => number;

/** Picks the output partition; undefined falls back to Kafka's default (murmur2 of the key). */
export type StreamPartitioner<K = unknown, V = unknown> = (
  topic: string,
  key: K,
  value: V,
  partitionCount: number,
) => number | undefined;

/** Picks a record's output topic (Kafka Streams' TopicNameExtractor); the topic must exist. */
export type TopicNameExtractor<K = unknown, V = unknown> = (record: Record<K, V>) => string;

/** Where a task starts reading a partition its group has no committed offset for. */
export type OffsetReset = 'earliest' | 'latest';

export interface SourceOptions<K, V> {
  /**
   * Topics to read. A name declared with `addRepartitionTopic` reads that internal topic
   * (`${applicationId}-${name}-repartition`).
   */
  topics: readonly string[];
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /** @default the record's Kafka timestamp */
  timestampExtractor?: TimestampExtractor<K, V>;
  /** @default 'earliest' (as Kafka Streams sets auto.offset.reset) */
  offsetReset?: OffsetReset;
}

export interface SinkOptions<K, V> {
  /**
   * The output topic, or a function of the record that names it. A name declared with
   * `addRepartitionTopic` writes that internal topic.
   */
  topic: string | TopicNameExtractor<K, V>;
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /** @default Kafka's default partitioner */
  partitioner?: StreamPartitioner<K, V>;
}

export interface RepartitionTopicOptions {
  /**
   * Partition count. @default the largest partition count of the source topics of the
   * sub-topology that writes it (as Kafka Streams does)
   */
  partitions?: number;
}

/** An internal topic a topology writes and reads again, created by the app. */
export interface RepartitionTopicSpec {
  /** The name the topology uses (`addRepartitionTopic`). */
  readonly name: string;
  /** The topic in Kafka: `${applicationId}-${name}-repartition`. */
  readonly topic: string;
  readonly partitions: number | undefined;
  /** Sub-topologies whose sinks write it. */
  readonly writers: readonly number[];
  /** The sub-topology whose source reads it (undefined when none does). */
  readonly reader: number | undefined;
}

/**
 * A global store (Kafka Streams' Topology#addGlobalStore): every worker fills its own copy from
 * every partition of `topic` and keeps it current; any processor of any task may read it. The
 * topic is the store's log, so the store has no changelog.
 */
export interface GlobalStoreOptions<K, V> {
  /** The topic the store is filled from, all of its partitions (read_committed). */
  topic: string;
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /** @default the record's Kafka timestamp */
  timestampExtractor?: TimestampExtractor<K, V>;
  /**
   * Applies each record of the topic to the store (Kafka Streams' stateUpdateSupplier); it
   * may read and write only its store and must not forward.
   */
  processor: ProcessorSupplier<K, V, never, never>;
  /** The source node's name. @default `${storeName}-global-source` */
  sourceName?: string;
  /** The update processor's name. @default `${storeName}-global-processor` */
  processorName?: string;
}

/** A global store as the runtime (framework/runtime/global-state.ts) runs it. */
export interface GlobalStoreSpec {
  readonly storeName: string;
  readonly builder: StoreBuilder;
  readonly topic: string;
  readonly sourceName: string;
  readonly processorName: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly timestampExtractor: TimestampExtractor | undefined;
  readonly processor: ProcessorSupplier;
}

export interface SourceNode {
  readonly kind: 'source';
  readonly name: string;
  readonly topics: readonly string[];
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly timestampExtractor: TimestampExtractor | undefined;
  readonly offsetReset: OffsetReset;
  readonly children: readonly string[];
}

export interface ProcessorNode {
  readonly kind: 'processor';
  readonly name: string;
  readonly supplier: ProcessorSupplier;
  readonly parents: readonly string[];
  readonly children: readonly string[];
  readonly stores: readonly string[];
}

export interface SinkNode {
  readonly kind: 'sink';
  readonly name: string;
  /** The output topic; undefined when `topicExtractor` picks it per record. */
  readonly topic: string | undefined;
  readonly topicExtractor: TopicNameExtractor | undefined;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly partitioner: StreamPartitioner | undefined;
  readonly parents: readonly string[];
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

/**
 * A connected part of the topology (processors sharing a store count as connected). Each
 * sub-topology runs as one task per partition of its (co-partitioned) source topics.
 */
export interface Subtopology {
  readonly id: number;
  /** In insertion order, which is topological: parents come before children. */
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  readonly sourceTopics: readonly string[];
  readonly sourceByTopic: ReadonlyMap<string, SourceNode>;
  /** Fixed sink topics (a sink with a topic extractor adds none). */
  readonly sinkTopics: readonly string[];
  /** The source topics that are repartition topics. */
  readonly repartitionSourceTopics: readonly string[];
  readonly stores: ReadonlyMap<string, StoreBuilder>;
}

/** An immutable snapshot of a topology, split into sub-topologies; what the runtime runs. */
export interface BuiltTopology {
  /** The application id internal topic names were resolved with, if given. */
  readonly applicationId: string | undefined;
  readonly subtopologies: readonly Subtopology[];
  readonly subtopologyByTopic: ReadonlyMap<string, Subtopology>;
  readonly repartitionTopics: readonly RepartitionTopicSpec[];
  /** Global stores: filled on every worker from their topics; readable by every task. */
  readonly globalStores: readonly GlobalStoreSpec[];
}

export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[];
  readonly globalStores: readonly GlobalStoreDescription[];
  toString(): string;
}

/** A global store's source and update processor, numbered after the sub-topologies. */
export interface GlobalStoreDescription {
  readonly id: number;
  readonly source: string;
  readonly topic: string;
  readonly processor: string;
  readonly store: string;
}

export interface SubtopologyDescription {
  readonly id: number;
  readonly nodes: readonly NodeDescription[];
}

export type NodeDescription =
  | { kind: 'source'; name: string; topics: string[]; successors: string[] }
  | {
      kind: 'processor';
      name: string;
      stores: string[];
      predecessors: string[];
      successors: string[];
    }
  | { kind: 'sink'; name: string; topic: string; predecessors: string[] };

/** Named in a description for a sink whose topic is picked per record. */
const EXTRACTED_TOPIC = '<topic extractor>';

type MutableNode =
  | { kind: 'source'; source: SourceOptions<unknown, unknown>; children: string[] }
  | {
      kind: 'processor';
      supplier: ProcessorSupplier;
      parents: string[];
      children: string[];
      stores: Set<string>;
    }
  | { kind: 'sink'; sink: SinkOptions<unknown, unknown>; parents: string[] };

/** Task ids are `${subtopologyId}_${partition}`, as in Kafka Streams (framework/names.ts). */
export const taskIdOf = taskId;
export const parseTaskId = parseTaskIdOf;

/**
 * A graph of sources, processors and sinks. Parents must be added before their children, so
 * the graph is acyclic by construction.
 */
export class Topology {
  readonly #nodes = new Map<string, MutableNode>();
  readonly #stores = new Map<string, StoreBuilder>();
  readonly #sourceOfTopic = new Map<string, string>();
  readonly #repartitionTopics = new Map<string, RepartitionTopicOptions>();
  readonly #globalStores = new Map<string, GlobalStoreSpec>();
  /** Node names used by global stores (their sources and processors are not graph nodes). */
  readonly #reservedNames = new Set<string>();

  addSource<K, V>(name: string, options: SourceOptions<K, V>): this {
    this.#checkNewName(name);
    const { topics } = options;
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new TopologyError(`Source "${name}" needs at least one topic`);
    }
    for (const topic of topics) {
      if (typeof topic !== 'string' || topic === '') {
        throw new TopologyError(`Source "${name}" has an empty or non-string topic`);
      }
      const other = this.#sourceOfTopic.get(topic);
      if (other !== undefined) {
        throw new TopologyError(
          `Source "${name}": topic "${topic}" is already read by source "${other}"`,
        );
      }
    }
    if (new Set(topics).size !== topics.length) {
      throw new TopologyError(`Source "${name}" lists a topic twice`);
    }
    checkSerdes(name, options);
    const reset = options.offsetReset;
    if (reset !== undefined && reset !== 'earliest' && reset !== 'latest') {
      throw new TopologyError(
        `Source "${name}": offsetReset must be 'earliest' or 'latest', got ${JSON.stringify(reset)}`,
      );
    }
    for (const topic of topics) this.#sourceOfTopic.set(topic, name);
    // Sound: the extractor and serdes of one source only ever see that source's records.
    const source = { ...options, topics: [...topics] } as SourceOptions<unknown, unknown>;
    this.#nodes.set(name, { kind: 'source', source, children: [] });
    return this;
  }

  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parents: string[]
  ): this {
    this.#checkNewName(name);
    if (typeof supplier !== 'function') {
      throw new TopologyError(
        `Processor "${name}": the supplier must be a function returning a new processor`,
      );
    }
    this.#checkParents('Processor', name, parents);
    // As Kafka Streams 4 (ApiUtils.checkSupplier): a supplier must build a new processor per
    // task, or tasks would share one instance's state.
    const first = supplier();
    if (first === supplier()) {
      throw new TopologyError(
        `Processor "${name}": the supplier returned the same instance twice; it must return a new processor on every call`,
      );
    }
    this.#nodes.set(name, {
      kind: 'processor',
      supplier: supplier as ProcessorSupplier,
      parents: [...parents],
      children: [],
      stores: new Set(),
    });
    this.#linkParents(name, parents);
    return this;
  }

  addSink<K, V>(name: string, options: SinkOptions<K, V>, ...parents: string[]): this {
    this.#checkNewName(name);
    if (
      typeof options.topic !== 'function' &&
      (typeof options.topic !== 'string' || options.topic === '')
    ) {
      throw new TopologyError(`Sink "${name}" needs a topic (a name or a function of the record)`);
    }
    checkSerdes(name, options);
    this.#checkParents('Sink', name, parents);
    const sink = { ...options } as SinkOptions<unknown, unknown>;
    this.#nodes.set(name, { kind: 'sink', sink, parents: [...parents] });
    this.#linkParents(name, parents);
    return this;
  }

  /**
   * Declares an internal topic that a sink of this topology writes and a source reads again
   * (a repartition after a key change, as the DSL inserts before a grouping). Sinks and
   * sources name it by `name`; in Kafka it is `${applicationId}-${name}-repartition`, created
   * by the app, written and read inside the exactly-once cycle, and purged below the committed
   * offset.
   */
  addRepartitionTopic(name: string, options: RepartitionTopicOptions = {}): this {
    if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]+$/.test(name)) {
      throw new TopologyError(
        `Invalid repartition topic name "${String(name)}": use letters, digits, '.', '_' and '-'`,
      );
    }
    if (this.#repartitionTopics.has(name)) {
      throw new TopologyError(`Repartition topic "${name}" is already added`);
    }
    if ([...this.#globalStores.values()].some((g) => g.topic === name)) {
      throw new TopologyError(`Repartition topic "${name}" is the topic of a global store`);
    }
    const { partitions } = options;
    if (partitions !== undefined && !(Number.isSafeInteger(partitions) && partitions >= 1)) {
      throw new TopologyError(
        `Repartition topic "${name}": partitions must be an integer >= 1, got ${String(partitions)}`,
      );
    }
    this.#repartitionTopics.set(name, partitions === undefined ? {} : { partitions });
    return this;
  }

  /** Adds a store, one instance per task, and connects it to the named processors. */
  addStateStore(storeBuilder: StoreBuilder, ...processorNames: string[]): this {
    const { name } = storeBuilder;
    if (typeof name !== 'string' || name === '') {
      throw new TopologyError('A state store needs a name');
    }
    if (this.#stores.has(name) || this.#globalStores.has(name))
      throw new TopologyError(`State store "${name}" is already added`);
    // Check every processor before changing anything, so a failed call leaves no trace.
    const processors = processorNames.map((p) => this.#processorNode(p, `State store "${name}"`));
    this.#stores.set(name, storeBuilder);
    for (const processor of processors) processor.stores.add(name);
    return this;
  }

  /**
   * Adds a global store (Kafka Streams' addGlobalStore): on every worker, one copy filled from
   * every partition of `options.topic` by `options.processor`, restored at start and kept
   * current by the worker's global thread. Every processor may read it with
   * `context.getStateStore(name)` without being connected to it. It has no changelog (the
   * topic is its log), so its builder must have logging disabled.
   */
  addGlobalStore<K, V>(storeBuilder: StoreBuilder, options: GlobalStoreOptions<K, V>): this {
    const name = storeBuilder?.name;
    if (typeof name !== 'string' || name === '')
      throw new TopologyError('A global store needs a name');
    const what = `Global store "${name}"`;
    if (this.#stores.has(name) || this.#globalStores.has(name)) {
      throw new TopologyError(`${what}: a state store of that name is already added`);
    }
    if (storeBuilder.loggingEnabled) {
      throw new TopologyError(
        `${what}: its topic is its log, so it must not have a changelog; build it with logging: false`,
      );
    }
    const { topic } = options;
    if (typeof topic !== 'string' || topic === '') {
      throw new TopologyError(`${what} needs a topic`);
    }
    const reader = this.#sourceOfTopic.get(topic);
    if (reader !== undefined) {
      throw new TopologyError(`${what}: topic "${topic}" is already read by source "${reader}"`);
    }
    if (this.#repartitionTopics.has(topic)) {
      throw new TopologyError(`${what}: "${topic}" is a repartition topic of this topology`);
    }
    if (typeof options.processor !== 'function') {
      throw new TopologyError(
        `${what}: processor must be a function returning a new processor that writes the store`,
      );
    }
    const sourceName = options.sourceName ?? `${name}-global-source`;
    const processorName = options.processorName ?? `${name}-global-processor`;
    checkSerdes(sourceName, options);
    for (const node of [sourceName, processorName]) this.#checkNewName(node);
    if (sourceName === processorName) {
      throw new TopologyError(`${what}: the source and the processor need different names`);
    }
    // The names are taken: nothing else may reuse them, as Kafka Streams keeps one namespace.
    this.#reservedNames.add(sourceName).add(processorName);
    this.#sourceOfTopic.set(topic, sourceName);
    this.#globalStores.set(
      name,
      Object.freeze({
        storeName: name,
        builder: storeBuilder,
        topic,
        sourceName,
        processorName,
        keySerde: options.keySerde as Serde<unknown>,
        valueSerde: options.valueSerde as Serde<unknown>,
        timestampExtractor: options.timestampExtractor as TimestampExtractor | undefined,
        processor: options.processor as ProcessorSupplier,
      }),
    );
    return this;
  }

  /** Connects an existing processor to stores already added with `addStateStore`. */
  connectProcessorAndStateStores(processorName: string, ...storeNames: string[]): this {
    const processor = this.#processorNode(processorName, 'connectProcessorAndStateStores');
    const unknown = storeNames.find(
      (store) => !this.#stores.has(store) && !this.#globalStores.has(store),
    );
    if (unknown !== undefined) {
      throw new TopologyError(`Processor "${processorName}": unknown state store "${unknown}"`);
    }
    // Global stores are readable by every processor already; only task stores are connected.
    for (const store of storeNames) if (this.#stores.has(store)) processor.stores.add(store);
    return this;
  }

  /**
   * Snapshots the topology for the runtime and the TopologyTestDriver. Internal topic names
   * resolve against `applicationId`, which a topology with repartition topics needs.
   */
  build(applicationId?: string): BuiltTopology {
    if (![...this.#nodes.values()].some((node) => node.kind === 'source')) {
      throw new TopologyError('The topology has no source: add one with addSource()');
    }
    const connected = new Set(
      [...this.#nodes.values()].flatMap((n) => (n.kind === 'processor' ? [...n.stores] : [])),
    );
    const orphan = [...this.#stores.keys()].find((store) => !connected.has(store));
    if (orphan !== undefined) {
      throw new TopologyError(
        `State store "${orphan}" is connected to no processor: pass processor names to addStateStore() or call connectProcessorAndStateStores()`,
      );
    }
    if (this.#repartitionTopics.size > 0 && applicationId === undefined) {
      throw new TopologyError(
        `The topology has repartition topics (${[...this.#repartitionTopics.keys()].join(', ')}): build(applicationId) resolves their names`,
      );
    }
    const resolve = (topic: string): string =>
      this.#repartitionTopics.has(topic) && applicationId !== undefined
        ? repartitionTopic(applicationId, topic)
        : topic;
    const subtopologies = this.#group().map((names, id) => this.#snapshot(id, names, resolve));
    const subtopologyByTopic = new Map<string, Subtopology>();
    for (const subtopology of subtopologies) {
      for (const topic of subtopology.sourceTopics) subtopologyByTopic.set(topic, subtopology);
    }
    const repartitionTopics = [...this.#repartitionTopics].map(([name, { partitions }]) => {
      const topic = resolve(name);
      return Object.freeze({
        name,
        topic,
        partitions,
        writers: Object.freeze(
          subtopologies.filter((s) => s.sinkTopics.includes(topic)).map((s) => s.id),
        ),
        reader: subtopologyByTopic.get(topic)?.id,
      });
    });
    const unused = repartitionTopics.find((r) => r.writers.length === 0);
    if (unused !== undefined) {
      throw new TopologyError(`Repartition topic "${unused.name}" is written by no sink`);
    }
    return Object.freeze({
      applicationId,
      subtopologies: Object.freeze(subtopologies),
      subtopologyByTopic,
      repartitionTopics: Object.freeze(repartitionTopics),
      globalStores: Object.freeze([...this.#globalStores.values()]),
    });
  }

  describe(): TopologyDescription {
    const subtopologies = this.#group().map((names, id) => ({
      id,
      nodes: names.map((name) => this.#describeNode(name)),
    }));
    const globalStores = [...this.#globalStores.values()].map((g, i) => ({
      id: subtopologies.length + i,
      source: g.sourceName,
      topic: g.topic,
      processor: g.processorName,
      store: g.storeName,
    }));
    return {
      subtopologies,
      globalStores,
      toString: () => formatDescription(subtopologies, globalStores),
    };
  }

  #checkNewName(name: string): void {
    if (typeof name !== 'string' || name === '') {
      throw new TopologyError('A node needs a non-empty name');
    }
    if (this.#nodes.has(name) || this.#reservedNames.has(name))
      throw new TopologyError(`A node named "${name}" already exists`);
  }

  #checkParents(kind: string, name: string, parents: string[]): void {
    if (parents.length === 0) {
      throw new TopologyError(`${kind} "${name}" needs at least one parent`);
    }
    for (const parent of parents) {
      const node = this.#nodes.get(parent);
      if (node === undefined) {
        throw new TopologyError(
          `${kind} "${name}": unknown parent "${parent}" (add parents first)`,
        );
      }
      if (node.kind === 'sink') {
        throw new TopologyError(
          `${kind} "${name}": parent "${parent}" is a sink, which has no children`,
        );
      }
    }
    if (new Set(parents).size !== parents.length) {
      throw new TopologyError(`${kind} "${name}" lists a parent twice`);
    }
  }

  #linkParents(name: string, parents: string[]): void {
    for (const parent of parents) {
      const node = this.#nodes.get(parent);
      if (node !== undefined && node.kind !== 'sink') node.children.push(name);
    }
  }

  #processorNode(name: string, context: string): Extract<MutableNode, { kind: 'processor' }> {
    const node = this.#nodes.get(name);
    if (node === undefined) throw new TopologyError(`${context}: unknown processor "${name}"`);
    if (node.kind !== 'processor') {
      throw new TopologyError(`${context}: "${name}" is a ${node.kind}, not a processor`);
    }
    return node;
  }

  /**
   * Connected components of the node graph (edges plus shared stores), as node names in
   * insertion order. Numbered by their alphabetically first source name, as Kafka Streams
   * numbers node groups, so ids do not depend on the order sources were added.
   */
  #group(): string[][] {
    const parent = new Map<string, string>();
    const find = (name: string): string => {
      let root = name;
      while (parent.get(root) !== root) root = parent.get(root) ?? root;
      parent.set(name, root);
      return root;
    };
    const union = (a: string, b: string): void => {
      parent.set(find(a), find(b));
    };
    const storeOwner = new Map<string, string>();
    for (const name of this.#nodes.keys()) parent.set(name, name);
    for (const [name, node] of this.#nodes) {
      if (node.kind !== 'source') for (const p of node.parents) union(name, p);
      if (node.kind !== 'processor') continue;
      for (const store of node.stores) {
        const owner = storeOwner.get(store);
        if (owner === undefined) storeOwner.set(store, name);
        else union(name, owner);
      }
    }
    const groups = new Map<string, string[]>();
    for (const name of this.#nodes.keys()) {
      const root = find(name);
      groups.set(root, [...(groups.get(root) ?? []), name]);
    }
    const firstSource = (names: string[]): string =>
      names.filter((n) => this.#nodes.get(n)?.kind === 'source').sort()[0] ?? '';
    return [...groups.values()].sort((a, b) => (firstSource(a) < firstSource(b) ? -1 : 1));
  }

  #snapshot(id: number, names: string[], resolve: (topic: string) => string): Subtopology {
    const nodes = new Map<string, TopologyNode>();
    const sourceByTopic = new Map<string, SourceNode>();
    const sinkTopics = new Set<string>();
    const stores = new Map<string, StoreBuilder>();
    for (const name of names) {
      const node = this.#nodes.get(name);
      if (node === undefined) continue;
      if (node.kind === 'source') {
        const { keySerde, valueSerde, timestampExtractor } = node.source;
        const topics = node.source.topics.map(resolve);
        const source: SourceNode = Object.freeze({
          kind: 'source',
          name,
          topics: Object.freeze(topics),
          keySerde,
          valueSerde,
          timestampExtractor,
          offsetReset: node.source.offsetReset ?? 'earliest',
          children: Object.freeze([...node.children]),
        });
        nodes.set(name, source);
        for (const topic of topics) sourceByTopic.set(topic, source);
      } else if (node.kind === 'processor') {
        nodes.set(
          name,
          Object.freeze({
            kind: 'processor',
            name,
            supplier: node.supplier,
            parents: Object.freeze([...node.parents]),
            children: Object.freeze([...node.children]),
            stores: Object.freeze([...node.stores]),
          }),
        );
        for (const store of node.stores) stores.set(store, this.#stores.get(store) as StoreBuilder);
      } else {
        const { keySerde, valueSerde, partitioner } = node.sink;
        const topic = typeof node.sink.topic === 'string' ? resolve(node.sink.topic) : undefined;
        const topicExtractor =
          typeof node.sink.topic === 'function'
            ? (node.sink.topic as TopicNameExtractor)
            : undefined;
        nodes.set(
          name,
          Object.freeze({
            kind: 'sink',
            name,
            topic,
            topicExtractor,
            keySerde,
            valueSerde,
            partitioner,
            parents: Object.freeze([...node.parents]),
          }),
        );
        if (topic !== undefined) sinkTopics.add(topic);
      }
    }
    const sourceTopics = [...sourceByTopic.keys()];
    const internal = new Set([...this.#repartitionTopics.keys()].map(resolve));
    return Object.freeze({
      id,
      nodes,
      sourceTopics: Object.freeze(sourceTopics),
      sourceByTopic,
      sinkTopics: Object.freeze([...sinkTopics]),
      repartitionSourceTopics: Object.freeze(sourceTopics.filter((t) => internal.has(t))),
      stores,
    });
  }

  #describeNode(name: string): NodeDescription {
    const node = this.#nodes.get(name);
    if (node === undefined) throw new TopologyError(`Unknown node "${name}"`);
    switch (node.kind) {
      case 'source':
        return {
          kind: 'source',
          name,
          topics: node.source.topics.map((t) => this.#describeTopic(t)),
          successors: [...node.children],
        };
      case 'processor':
        return {
          kind: 'processor',
          name,
          stores: [...node.stores],
          predecessors: [...node.parents],
          successors: [...node.children],
        };
      case 'sink':
        return {
          kind: 'sink',
          name,
          topic:
            typeof node.sink.topic === 'string'
              ? this.#describeTopic(node.sink.topic)
              : EXTRACTED_TOPIC,
          predecessors: [...node.parents],
        };
    }
  }

  /** A repartition topic shows as `${name}-repartition`, as Kafka Streams describes internal topics. */
  #describeTopic(topic: string): string {
    return this.#repartitionTopics.has(topic) ? `${topic}-repartition` : topic;
  }
}

function checkSerdes(name: string, options: { keySerde: unknown; valueSerde: unknown }): void {
  for (const field of ['keySerde', 'valueSerde'] as const) {
    const serde = options[field] as { serialize?: unknown; deserialize?: unknown } | undefined;
    if (typeof serde?.serialize !== 'function' || typeof serde.deserialize !== 'function') {
      throw new TopologyError(`Node "${name}": ${field} must be a Serde (e.g. Serdes.string())`);
    }
  }
}

/** Formatted like Kafka Streams' TopologyDescription, so its readers feel at home. */
function formatDescription(
  subtopologies: readonly SubtopologyDescription[],
  globalStores: readonly GlobalStoreDescription[],
): string {
  const lines = ['Topologies:'];
  const list = (names: string[]): string => (names.length === 0 ? 'none' : names.join(', '));
  for (const { id, nodes } of subtopologies) {
    lines.push(`   Sub-topology: ${id}`);
    for (const node of nodes) {
      if (node.kind === 'source') {
        lines.push(`    Source: ${node.name} (topics: [${node.topics.join(', ')}])`);
        lines.push(`      --> ${list(node.successors)}`);
      } else if (node.kind === 'processor') {
        lines.push(`    Processor: ${node.name} (stores: [${node.stores.join(', ')}])`);
        lines.push(`      --> ${list(node.successors)}`, `      <-- ${list(node.predecessors)}`);
      } else {
        lines.push(`    Sink: ${node.name} (topic: ${node.topic})`);
        lines.push(`      <-- ${list(node.predecessors)}`);
      }
    }
  }
  for (const g of globalStores) {
    lines.push(`   Sub-topology: ${g.id} for global store (will not generate tasks)`);
    lines.push(`    Source: ${g.source} (topics: [${g.topic}])`, `      --> ${g.processor}`);
    lines.push(`    Processor: ${g.processor} (stores: [${g.store}])`);
    lines.push(`      --> none`, `      <-- ${g.source}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Checks that the source topics of each sub-topology have the same partition count (their
 * partition N belongs to task `${id}_N`) and returns each sub-topology's partition count,
 * i.e. its number of tasks. Throws naming the topics and their counts otherwise.
 */
export function checkCoPartitioning(
  topology: BuiltTopology,
  partitionCounts: ReadonlyMap<string, number>,
): Map<number, number> {
  const taskCounts = new Map<number, number>();
  for (const { id, sourceTopics } of topology.subtopologies) {
    const missing = sourceTopics.filter((topic) => !partitionCounts.has(topic));
    if (missing.length > 0) {
      throw new TopologyError(`Sub-topology ${id}: source topics not found: ${missing.join(', ')}`);
    }
    const counts = sourceTopics.map((topic) => [topic, partitionCounts.get(topic) ?? 0] as const);
    if (new Set(counts.map(([, count]) => count)).size > 1) {
      const detail = counts.map(([topic, count]) => `${topic} (${count})`).join(', ');
      throw new TopologyError(
        `Sub-topology ${id}: source topics are not co-partitioned: ${detail}; ` +
          'they must have the same number of partitions',
      );
    }
    taskCounts.set(id, counts[0]?.[1] ?? 0);
  }
  return taskCounts;
}
