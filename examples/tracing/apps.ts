/**
 * Two apps chained over three topics: `enricher` reads orders and writes
 * enriched orders, `shipper` reads those and writes shipments. Each output
 * record carries the trace context of the record that caused it, so one
 * trace runs from the order's producer to its shipment.
 */
import { Serdes, Topology, type Processor, type ProcessorContext } from '../../framework/index.ts';

export interface ChainTopics {
  orders: string;
  enriched: string;
  shipments: string;
}

export interface Order {
  id: string;
  item: string;
  quantity: number;
}

function mapValues<A, B>(from: string, to: string, name: string, f: (value: A) => B): Topology {
  return new Topology()
    .addSource('source', {
      topics: [from],
      keySerde: Serdes.string(),
      valueSerde: Serdes.json<A>(),
    })
    .addProcessor(
      name,
      (): Processor<string, A, string, B> => {
        let context!: ProcessorContext<string, B>;
        return {
          init: (c) => void (context = c),
          process: (r) => context.forward({ ...r, value: f(r.value) }),
        };
      },
      'source',
    )
    .addSink('sink', { topic: to, keySerde: Serdes.string(), valueSerde: Serdes.json<B>() }, name);
}

export const enricher = (topics: ChainTopics): Topology =>
  mapValues(topics.orders, topics.enriched, 'enrich', (o: Order) => ({
    ...o,
    warehouse: o.item.length % 2 === 0 ? 'north' : 'south',
  }));

export const shipper = (topics: ChainTopics): Topology =>
  mapValues(topics.enriched, topics.shipments, 'ship', (o: Order & { warehouse: string }) => ({
    order: o.id,
    from: o.warehouse,
    parcels: Math.ceil(o.quantity / 10),
  }));
