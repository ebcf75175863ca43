/**
 * A Produce request encoder for kafkajs 2.2.4, put in place of kafkajs's own
 * (protocol/requests/produce/v3/request.js, which v4–v7 build on) before the
 * first produce. kafkajs builds every record through several Encoder objects
 * and object spreads, and sorts the batch's timestamps as strings to find
 * their minimum and maximum: in a profile of a streamtx worker that was a
 * quarter of its CPU. This one sizes each record batch first and writes it
 * into one buffer, byte for byte the format kafkajs writes (Produce v3+ with
 * RecordBatch magic 2, CRC32C over attributes..records, offsets relative to
 * the first record, timestamps relative to the smallest). Compressed batches
 * go to kafkajs's encoder unchanged.
 *
 * Like linear-grouping.ts, a module substitution tied to the kafkajs version
 * internals.ts checks; if kafkajs's produce modules were loaded before this
 * one, kafkajs's encoder stays and only speed differs.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkaLong {
  toString(): string;
}

interface KafkaMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  timestamp?: string | number;
}

interface PartitionData {
  partition: number;
  firstSequence?: number;
  messages: KafkaMessage[];
}

interface TopicData {
  topic: string;
  partitions: PartitionData[];
}

interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: KafkaLong;
  producerEpoch?: number;
  compression?: number;
  topicData: TopicData[];
}

interface EncodedPayload {
  buf: Buffer;
  buffer: Buffer;
  size(): number;
}

type RequestFactory = (args: ProduceRequestArgs) => {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<EncodedPayload>;
};

const MAGIC = 2;
const TRANSACTIONAL = 16;
/** Bytes of a record batch from partitionLeaderEpoch to baseSequence, plus the record count. */
const BATCH_HEADER = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;

function varintSize(zigzagged: number): number {
  let n = 1;
  while (zigzagged >= 128) {
    zigzagged = Math.floor(zigzagged / 128);
    n++;
  }
  return n;
}

/** Zigzag (Kafka's varint / varlong for a signed number), exact up to 2^52. */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function writeVarint(buf: Buffer, offset: number, zigzagged: number): number {
  while (zigzagged >= 128) {
    buf[offset++] = (zigzagged % 128) | 128;
    zigzagged = Math.floor(zigzagged / 128);
  }
  buf[offset++] = zigzagged;
  return offset;
}

type Bytes = Buffer | null;

function toBytes(v: Buffer | string | null | undefined): Bytes {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

interface PreparedRecord {
  key: Bytes;
  value: Bytes;
  headers: [Buffer, Bytes][];
  timestampDelta: number;
  bodySize: number;
}

/** One partition's messages as a record batch (baseOffset 0), with its length and CRC. */
function encodeBatch(
  messages: KafkaMessage[],
  transactional: boolean,
  producerId: bigint,
  producerEpoch: number,
  firstSequence: number,
): Buffer {
  const now = Date.now();
  let first = Infinity;
  let max = -Infinity;
  const times = new Array<number>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const t = messages[i]!.timestamp;
    const time = t === undefined || t === null || t === '' ? now : Number(t);
    times[i] = time;
    if (time < first) first = time;
    if (time > max) max = time;
  }
  if (messages.length === 0) first = max = now;
  const records = new Array<PreparedRecord>(messages.length);
  let recordsSize = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const key = toBytes(m.key);
    const value = toBytes(m.value);
    const headers: [Buffer, Bytes][] = [];
    if (m.headers)
      for (const k in m.headers) {
        const v = m.headers[k];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const one of v) headers.push([Buffer.from(k), toBytes(one)]);
        else headers.push([Buffer.from(k), toBytes(v)]);
      }
    const timestampDelta = times[i]! - first;
    let body =
      1 +
      varintSize(zigzag(timestampDelta)) +
      varintSize(zigzag(i)) +
      (key === null ? 1 : varintSize(zigzag(key.length)) + key.length) +
      (value === null ? 1 : varintSize(zigzag(value.length)) + value.length) +
      varintSize(zigzag(headers.length));
    for (const [hk, hv] of headers)
      body +=
        varintSize(zigzag(hk.length)) +
        hk.length +
        (hv === null ? 1 : varintSize(zigzag(hv.length)) + hv.length);
    records[i] = { key, value, headers, timestampDelta, bodySize: body };
    recordsSize += varintSize(zigzag(body)) + body;
  }
  // baseOffset (8) + batchLength (4) + the rest
  const batchLength = BATCH_HEADER + recordsSize;
  const buf = Buffer.allocUnsafe(8 + 4 + batchLength);
  let o = 0;
  buf.writeBigInt64BE(0n, o);
  o += 8;
  buf.writeInt32BE(batchLength, o);
  o += 4;
  buf.writeInt32BE(0, o); // partitionLeaderEpoch: kafkajs writes 0; the broker sets it
  o += 4;
  buf.writeInt8(MAGIC, o);
  o += 1;
  const crcAt = o;
  o += 4;
  const crcFrom = o;
  buf.writeInt16BE(transactional ? TRANSACTIONAL : 0, o); // attributes: no compression, CreateTime
  o += 2;
  buf.writeInt32BE(messages.length - 1, o); // lastOffsetDelta
  o += 4;
  buf.writeBigInt64BE(BigInt(first), o);
  o += 8;
  buf.writeBigInt64BE(BigInt(max), o);
  o += 8;
  buf.writeBigInt64BE(producerId, o);
  o += 8;
  buf.writeInt16BE(producerEpoch, o);
  o += 2;
  buf.writeInt32BE(firstSequence, o);
  o += 4;
  buf.writeInt32BE(messages.length, o);
  o += 4;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    o = writeVarint(buf, o, zigzag(r.bodySize));
    buf[o++] = 0; // record attributes
    o = writeVarint(buf, o, zigzag(r.timestampDelta));
    o = writeVarint(buf, o, zigzag(i));
    o = writeBytes(buf, o, r.key);
    o = writeBytes(buf, o, r.value);
    o = writeVarint(buf, o, zigzag(r.headers.length));
    for (const [hk, hv] of r.headers) {
      o = writeBytes(buf, o, hk);
      o = writeBytes(buf, o, hv);
    }
  }
  if (o !== buf.length) throw new Error(`produce encoder: wrote ${o} of ${buf.length} bytes`);
  buf.writeUInt32BE(crc32C(buf.subarray(crcFrom)), crcAt);
  return buf;
}

function writeBytes(buf: Buffer, o: number, bytes: Bytes): number {
  if (bytes === null) return writeVarint(buf, o, 1); // zigzag(-1)
  o = writeVarint(buf, o, zigzag(bytes.length));
  bytes.copy(buf, o);
  return o + bytes.length;
}

function payload(parts: Buffer[]): EncodedPayload {
  const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return { buf, buffer: buf, size: () => buf.length };
}

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n, 0);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

function string(s: string | null | undefined): Buffer {
  if (s === null || s === undefined) return int16(-1);
  const bytes = Buffer.from(s);
  return Buffer.concat([int16(bytes.length), bytes]);
}

const V3_PATH = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');

/** kafkajs's own request factory (compressed batches use it; tests compare with it). */
let original: RequestFactory | undefined;

function install(): void {
  if (require.cache[V3_PATH] !== undefined) return; // kafkajs's produce path is loaded already
  const kafkajsFactory = require(V3_PATH) as RequestFactory;
  original = kafkajsFactory;
  delete require.cache[V3_PATH];
  const fast: RequestFactory = (args) => {
    const base = kafkajsFactory(args);
    if ((args.compression ?? 0) !== 0) return base;
    return {
      ...base,
      encode: async () => {
        const transactional = args.transactionalId !== null && args.transactionalId !== undefined;
        const producerId = BigInt(args.producerId?.toString() ?? '-1');
        const producerEpoch = args.producerEpoch ?? 0;
        const parts: Buffer[] = [
          string(args.transactionalId ?? null),
          int16(args.acks),
          int32(args.timeout),
          int32(args.topicData.length),
        ];
        for (const { topic, partitions } of args.topicData) {
          parts.push(string(topic), int32(partitions.length));
          for (const p of partitions) {
            const batch = encodeBatch(
              p.messages,
              transactional,
              producerId,
              producerEpoch,
              p.firstSequence ?? 0,
            );
            parts.push(int32(p.partition), int32(batch.length), batch);
          }
        }
        return payload(parts);
      },
    };
  };
  const mod = new Module(V3_PATH);
  mod.filename = V3_PATH;
  mod.exports = fast;
  mod.loaded = true;
  require.cache[V3_PATH] = mod;
}

install();

/** kafkajs's Produce v3 request factory, if this module replaced it (for tests). */
export function kafkajsProduceRequest(): RequestFactory | undefined {
  return original;
}

/** The factory kafkajs now uses. */
export function installedProduceRequest(): RequestFactory {
  return require(V3_PATH) as RequestFactory;
}

export type { ProduceRequestArgs };
